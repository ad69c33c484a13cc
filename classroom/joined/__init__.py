"""The participant's side of a seat: `./shopbox.sh join FILE` (shopbox.sh) runs `shopbox-join` (cli.py) in the shell
image to check the join file, set up the joined shell and keep its port-forwards open.

One job per module: seat (what a joined shell is made of, from the join file: settings, kubeconfig, Docker
credentials, the forwards), forward (the supervisor that keeps the port-forwards open), doctor (the join's checks),
cli (the verbs). See README.md in the directory above ("Joining a seat").
"""

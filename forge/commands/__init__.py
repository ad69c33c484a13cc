"""forge's click commands, one module per command (`forge canary status` is canary_status.py): each parses its
flags into the verb's request and calls the verb (forge/verbs/, same module name) with `options.run_context()`.

A command module imports only click and forge/commands/options.py at the top, and its verb when it runs, so
`forge --help` reads every command's own help without loading YAML, schemas or the Docker and Kubernetes clients
(tests/forge/test_startup.py keeps it so).
"""

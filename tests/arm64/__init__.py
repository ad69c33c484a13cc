"""linux/arm64 images built on this amd64 machine and run under qemu (docker tier): the shell image as
`./shopbox.sh build` makes it on an arm64 engine, and the services' images on the arm64 offline Python base."""

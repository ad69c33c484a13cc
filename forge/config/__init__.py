"""Stage 1 of the pipeline: configuration. Where the workspace is and what its services say.

Used by the rest of forge: `workspace.load_workspace` (forge.yaml -> model.Workspace, and `display_path`, how every
message names a file), `discover.discover` (the service.yaml files under a path, as git sees the tree),
`descriptor.load_service` (service.yaml -> model.Service), `profiles.choose_profile` (which deployment: --profile,
CANARY, branches), `schema.check` (file: field: problem messages). (versions.env is read by the
`versions_env` package, outside forge: slides and shopbox-setup read it too.)
Pure Python: no Docker, no cluster.
"""

"""Stage 1 of the pipeline: configuration. Where the workspace is and what its services say.

Used by the rest of forge: `workspace.load_workspace` (forge.yaml and K8S_NAMESPACE -> model.Workspace, and
`display_path`, how every message names a file), `discover.select` / `discover.discover` (the service.yaml files
at and under a path, as git sees the tree, stopping at other workspaces), `descriptor.load_service` (service.yaml,
rendered by `templating`, -> model.Service), `profiles.choose_profile` (which deployment: --profile, CANARY,
branches; copies `<service>-<profile>`), `templating` (the Jinja2 environment service.yaml and the k8s/ templates
share), `schema.check` (file: field: problem messages). (versions.env is read by the `versions_env` package,
outside forge: slides and shopbox-setup read it too.)
Pure Python: no Docker, no cluster.
"""

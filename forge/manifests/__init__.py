"""Stage 3 of the pipeline: manifests. Builds -> rendered, labelled, validated Kubernetes objects.

Used by the rest of forge: `render.render` (Jinja2 templates of each build -> model.Manifest) and
`validate.validate` (required fields, the offline OpenAPI schema of the target Kubernetes version, duplicates).
Pure Python: no Docker, no cluster.
"""

"""`make bench`: every benchmark in turn; each prints its numbers and asserts nothing."""

from tests.bench import (
    build_bench,
    class_bench,
    cluster_bench,
    edge_bench,
    forge_bench,
    startup_bench,
    workshop_bench,
)

forge_bench.main()
startup_bench.main()
build_bench.main()
edge_bench.main()
cluster_bench.main()
class_bench.main()
workshop_bench.main()

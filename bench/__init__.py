"""`make bench`: throughput and memory of the hub's full and incremental syncs and its
delivery, side by side with the floor (streaming parse + plain SQLite upsert) and a dlt
pipeline, on the same deterministic data. See README.md, "Benchmarks"."""

"""The job queue's Python side: handler registry, queue client, worker runtime. The queue itself is SQL
(sql/0006_create_jobs.sql)."""

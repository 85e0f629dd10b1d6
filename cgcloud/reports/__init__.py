"""Periodic reports (第二十条 旬报/月报/半年报, 第十四条 usage analysis, 第二十三条 incidents).

Data flows one way: ``period`` (which days) → ``collect`` (Prometheus' HTTP API and
cgcloud's own files: audit log, reclaim records) → ``analysis`` and ``incidents``
(pure) → one renderer per format. Nothing here imports an engine or the CLI.
"""

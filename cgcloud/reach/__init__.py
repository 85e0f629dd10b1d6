"""Who can reach what: the approved rows as an index, the cloud's rules as facts, and the
difference between them (`cgcloud reach`, docs/reach.md).

- ``facts``: every row of the forms as a ``Grant`` (plain data, cacheable);
- ``index``: the grants indexed by target and by source address, and the queries;
- ``cloud``: the engine's actual state turned into ``CloudFact``s, and the comparison;
- ``cache``: the index kept under the user's cache dir, keyed by the files' hashes;
- ``render``: text (Chinese), markdown and json.
"""

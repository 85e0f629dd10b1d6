"""Create Neutron's schema from its models (run with the devcloud venv's python).

Why: Neutron's alembic migrations only run on MySQL (on SQLite they fail with
"No support for ALTER of constraints"). Neutron's own unit tests build the
schema from the models the same way; the launcher stamps alembic heads after.
Usage: python neutron_schema.py SQLALCHEMY_URL
"""

import sys

import sqlalchemy as sa
from neutron.db.migration.models import head  # imports every model

engine = sa.create_engine(sys.argv[1])
head.get_metadata().create_all(engine)
print("created", len(head.get_metadata().tables), "tables")

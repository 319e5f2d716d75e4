"""`make bench`: Atrium's hot paths measured next to raw PostgreSQL/NATS figures of the same run.

Everything (embedded PostgreSQL and NATS, the units) is started here and stopped at the end, so the
ratios compare our code with the bare infrastructure on the same machine at the same moment.
"""

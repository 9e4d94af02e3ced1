"""What tests read of a MariaDB server as its operator: its open transactions, and its Threads_connected over time."""
from __future__ import annotations

import os
import time

from lab_helpers.local import CloudRecord, RunningCloud
from lab_helpers.local.rds.mariadb import MariaDB
from lab_helpers.measure import ThreadsSampler


def open_transactions(db: MariaDB) -> int:
    """InnoDB's open transactions now."""
    time.sleep(0.11)  # deliberate: InnoDB refreshes innodb_trx only when it has not been read for 0.1 s
    return db.execute("SELECT COUNT(*) FROM information_schema.innodb_trx")[0][0]


def threads_sampler(db: MariaDB) -> ThreadsSampler:
    """The lesson's sampler of the database's Threads_connected (notebook 06's storm), on any MariaDB of the tests.

    A server without a cloud around it (the proxy's bench) is recorded as a cloud of that database alone: its unix
    socket is all the sampler reads. `with threads_sampler(db) as s: ...` then `s.peak`.
    """
    record = CloudRecord.from_json({"pid": os.getpid(), "endpoint": "", "port": 0, "root": str(db.root),
                                    "mariadb": {"port": db.port, "socket": db.socket}})
    return ThreadsSampler(RunningCloud(record))

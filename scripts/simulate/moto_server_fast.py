"""moto_server for the simulator, with two of moto's hot spots made cheap.

moto 5.2 stores a shard's records in an OrderedDict keyed by consecutive sequence numbers, but
finds the last one with list(keys)[-1] on every put (O(records in the shard)) and scans the shard
from its first record on every GetRecords: a stream of 1,000 records/s slows down quadratically.
These three functions give the same answers from the dict directly.

moto 5.2 delivers each event to each rule target through jsonpath_ng.ext.parse of eight paths,
and jsonpath_ng builds its parser tables (PLY) on every call: a PutEvents of 10 entries took 2-4 s
here, beyond the processor's 3 s call timeout. Parsed paths are cached (they are not mutated).
Nothing else is changed.

With SIM_MOTO_STATS=<file>, the time spent per API call is counted and written to the file as JSON
when the server is stopped (SIGTERM): where moto's time goes when it is the bottleneck.
Usage: python3 moto_server_fast.py -H 127.0.0.1 -p PORT (the arguments of moto_server).
"""
import sys

import functools
import json
import os
import threading
import time

import moto.kinesis.models as kinesis
import moto.server as server

_scan_records = kinesis.Shard.get_records


def get_max_sequence_number(self):
    return next(reversed(self.records)) if self.records else 0


def get_min_sequence_number(self):
    return next(iter(self.records)) if self.records else 0


def get_records(self, last_sequence_id, limit):
    last = int(last_sequence_id)
    if not self.records or last >= next(reversed(self.records)):
        return [], last, 0
    if last + 1 not in self.records:
        return _scan_records(self, last_sequence_id, limit)
    results = []
    seq = last + 1
    while seq in self.records and (not limit or len(results) < limit):
        results.append(self.records[seq])
        seq += 1
    newest = self.records[next(reversed(self.records))]
    return results, results[-1].sequence_number, int((newest.created_at - results[-1].created_at) * 1000)


kinesis.Shard.get_max_sequence_number = get_max_sequence_number
kinesis.Shard.get_min_sequence_number = get_min_sequence_number
kinesis.Shard.get_records = get_records
try:
    import jsonpath_ng.ext

    jsonpath_ng.ext.parse = functools.lru_cache(maxsize=256)(jsonpath_ng.ext.parse)
except ImportError:  # a moto without its events extra: nothing to speed up
    pass

STATS_FILE = os.environ.get("SIM_MOTO_STATS")
if STATS_FILE:
    import moto.moto_server.werkzeug_app as werkzeug_app

    _lock = threading.Lock()
    _stats = {}
    _call = werkzeug_app.DomainDispatcherApplication.__call__

    def timed_call(self, environ, start_response):
        target = environ.get("HTTP_X_AMZ_TARGET") or environ.get("QUERY_STRING", "").split("Action=")[-1].split("&")[0] or environ.get("PATH_INFO", "")
        started = time.perf_counter()
        try:
            return _call(self, environ, start_response)
        finally:
            elapsed = time.perf_counter() - started
            with _lock:
                entry = _stats.setdefault(target.split(".")[-1][:60], [0, 0.0])
                entry[0] += 1
                entry[1] += elapsed

    werkzeug_app.DomainDispatcherApplication.__call__ = timed_call

    def write_stats(*_):
        with open(STATS_FILE, "w") as f:
            json.dump({k: {"calls": v[0], "seconds": round(v[1], 3)} for k, v in sorted(_stats.items(), key=lambda kv: -kv[1][1])}, f, indent=1)
        os._exit(0)

    # moto's main installs its own handler for SIGTERM by this name.
    server.signal_handler = write_stats

if __name__ == "__main__":
    server.main(sys.argv[1:])

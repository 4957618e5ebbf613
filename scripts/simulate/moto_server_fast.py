"""moto_server for the simulator, with two of moto's hot spots made cheap.

moto 5.2 stores a shard's records in an OrderedDict keyed by consecutive sequence numbers, but
finds the last one with list(keys)[-1] on every put (O(records in the shard)) and scans the shard
from its first record on every GetRecords: a stream of 1,000 records/s slows down quadratically.
These three functions give the same answers from the dict directly.

moto 5.2 delivers each event to each rule target through jsonpath_ng.ext.parse of eight paths,
and jsonpath_ng builds its parser tables (PLY) on every call: a PutEvents of 10 entries took 2-4 s
here, beyond the processor's 3 s call timeout. Parsed paths are cached (they are not mutated).
Nothing else is changed.
Usage: python3 moto_server_fast.py -H 127.0.0.1 -p PORT (the arguments of moto_server).
"""
import sys

import functools

import jsonpath_ng.ext
import moto.kinesis.models as kinesis
from moto.server import main

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
jsonpath_ng.ext.parse = functools.lru_cache(maxsize=256)(jsonpath_ng.ext.parse)

if __name__ == "__main__":
    main(sys.argv[1:])

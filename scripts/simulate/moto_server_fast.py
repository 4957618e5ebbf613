"""moto_server for the simulator, with moto 5.2's hot spots on the simulator's path made cheap.

Only the simulator starts moto this way (tests use plain moto_server). Each patch below says what it
replaces and why the answers are the same; measured with scripts/simulate/bench-moto.ts (DynamoDB,
the processor's requests) and cProfile, figures in docs/simulate.md.

- Kinesis: a shard's puts serialized (moto 5.2 gives two concurrent puts one sequence number, the
  second record overwriting the first: see below).
- Kinesis: moto 5.2 stores a shard's records in an OrderedDict keyed by consecutive sequence
  numbers, but finds the last one with list(keys)[-1] on every put (O(records in the shard)) and
  scans the shard from its first record on every GetRecords: a stream of 1,000 records/s slows down
  quadratically. These three functions give the same answers from the dict directly. moto's own
  delivery of each record to the stack's event source mapping (a docker Lambda per record, failing
  here) is skipped: the simulator runs the mapping itself (see below).
- EventBridge: moto 5.2 delivers each event to each rule target through jsonpath_ng.ext.parse of
  eight paths, and jsonpath_ng builds its parser tables (PLY) on every call: a PutEvents of 10
  entries took 2-4 s here, beyond the processor's 3 s call timeout. Each path is parsed once (not
  once per concurrent request) and kept (parsed paths are not mutated); the default ones when the
  server starts.
- SQS: each message sent asked every message of the queue for the time (moto's datetime-based
  unix_time): the current time comes from time.time().
- DynamoDB: items built in linear time instead of quadratic, set sizes without an object per
  element, plain AttributeValues (and Kinesis PutRecords entries) written to the response directly
  instead of through botocore's shapes member by member; TransactWriteItems backing up the items it
  touches instead of deep-copying every table it touches once per action; UpdateItem of many
  attributes without its quadratic item sizing and repeated parsing (11); conditional writes without
  re-parsing the same condition or each request's plain AttributeValues (12); binary values of a
  response written directly (13); update expressions copied (14) and traversed (15) without
  deepcopy's dispatch and ABC isinstance checks per node.
- Every request: moto's module listing and each response class's method names computed once
  instead of per request; werkzeug's per-request log lines off.

With SIM_MOTO_STATS=<file>, the time spent per API call is counted and written to the file as JSON
when the server is stopped (SIGTERM): where moto's time goes when it is the bottleneck. `seconds` is
wall time from request to answer (with the time a request waits for the interpreter lock while
others run, and for a core on a loaded machine); `cpuSeconds` is the CPU its thread used
(time.thread_time), the work the call itself made.
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


def _locked_by(lock):
    """A decorator: the method runs holding `lock` (moto's server answers requests on threads)."""

    def wrap(method):
        @functools.wraps(method)
        def locked(self, *args, **kwargs):
            with lock:
                return method(self, *args, **kwargs)

        return locked

    return wrap


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

# moto 5.2's Shard.put_record reads the shard's last sequence number and stores the record under the
# next one, unlocked ("not safe for concurrency", its own comment), and moto_server answers requests
# on threads: two PutRecords at once could give two records one sequence number, the second
# overwriting the first, and both were acknowledged. Measured (80 PutRecords of 200 records, 8 at a
# time, one shard): 2 of 16,000 records acknowledged and not on the shard (plain moto_server: 46 of
# 8,000). The simulator's rule puts with 4 calls in flight: a reading acknowledged, then never read
# (in flight for ever), and another reading booked under its sequence number but never stored
# (lost). In Kinesis a record's sequence number "is unique across all records in the stream"
# (https://docs.aws.amazon.com/kinesis/latest/APIReference/API_PutRecord.html) and a record that
# PutRecords answers with a SequenceNumber was added to the stream
# (https://docs.aws.amazon.com/kinesis/latest/APIReference/API_PutRecordsResultEntry.html). The
# puts and reads of every shard take one lock here (a put holds it for one record).
_kinesis_locked = _locked_by(threading.RLock())
kinesis.Shard.put_record = _kinesis_locked(kinesis.Shard.put_record)
kinesis.Shard.get_records = _kinesis_locked(kinesis.Shard.get_records)

# moto hands every record put on a stream to each Lambda event source mapping registered on it
# (the stack's ProcessorEventSourceMapping, made by CreateStack): a Lambda run in docker per record.
# With no docker that is a failed connection, an ERROR line on stderr and a new CloudWatch log stream
# in /aws/lambda/<function> per record: 2.5-5 ms of moto per record, most of a PutRecords's time
# (a PutRecords of 100: 13 ms without the mapping, 240-480 ms with it). The simulator runs the event
# source mapping itself (esm.ts) and invokes the built bundle, so moto's delivery is not part of what
# it emulates (with docker it would process every reading a second time): here a put stores the
# record and answers as moto does, without that delivery. The mapping itself stays (Get/List
# EventSourceMapping answer as before). SIM_MOTO_LAMBDA_ESM=1 keeps moto's delivery.
if os.environ.get("SIM_MOTO_LAMBDA_ESM") != "1":

    def stream_put_record(self, partition_key, explicit_hash_key, data):
        shard = self.get_shard_for_key(partition_key, explicit_hash_key)
        sequence_number = shard.put_record(partition_key, data, explicit_hash_key)
        return sequence_number, shard.shard_id

    kinesis.Stream.put_record = stream_put_record
# Parsed paths are cached (they are not mutated). A path is parsed once even when many requests
# ask for it at the same moment: an lru_cache lets each concurrent miss parse it again, and the
# processor's four lanes send their first alerts together (~40 PutEvents at once at 1,000
# sensors), each request then parsing the same eight paths (~0.1 s of PLY tables). Measured on a
# fresh launcher with 40 concurrent PutEvents of 10 entries (a boto3 script, not kept): the first
# 40 answered in 0.73 and 0.93 s with the lru_cache, the next rounds in 0.14-0.19 s; parsed once
# and ahead, the first 40 in 0.17-0.18 s. The paths moto uses for a target without an
# InputTransformer (the simulator's alert tap, phases/alert-tap.ts) are parsed when the server
# starts, before any request; any other path once, on first use.
try:
    import jsonpath_ng.ext

    _parse_path = jsonpath_ng.ext.parse
    _parsed_paths = {}
    _parse_lock = threading.Lock()

    def parse_path_once(path):
        parsed = _parsed_paths.get(path)
        if parsed is None:
            with _parse_lock:
                parsed = _parsed_paths.get(path)
                if parsed is None:
                    parsed = _parsed_paths[path] = _parse_path(path)
        return parsed

    jsonpath_ng.ext.parse = parse_path_once
    from moto.events.utils import EventTemplateParser

    for _path in EventTemplateParser.DEFAULT_EVENT_INPUT_PATHS_MAP.values():
        parse_path_once(_path)
except ImportError:  # a moto without its events extra: nothing to speed up
    pass

# --- DynamoDB -------------------------------------------------------------------------------
# Two of moto 5.2's DynamoDB hot spots, measured with scripts/simulate/bench-moto.ts and cProfile
# (docs/simulate.md has the figures). Each replacement computes the same thing; nothing else changes.
import moto.core.serialize as serialize
import moto.dynamodb.models.dynamo_type as dynamo_type
from moto.dynamodb.exceptions import ItemSizeTooLarge
from moto.dynamodb.models.utilities import bytesize

# 1. Item.__init__ stores each attribute through LimitedSizeDict.__setitem__, which re-sums the size
#    of every attribute already stored (sets element by element) before adding one: O(attributes²)
#    per item, two thirds of moto's time in a PutItem of the readings sink's 30-attribute window item
#    with its reading_offsets_ms set. Building a new item, the attributes stored so far are exactly
#    the ones added before (the keys of a dict are distinct, nothing mutates them meanwhile), so a
#    running total is the same sum: the same ItemSizeTooLarge at the same attribute, the same
#    attrs. LimitedSizeDict itself (used by updates of a stored item) is unchanged.
_LIMIT = 405000  # moto's LimitedSizeDict limit (dynamo_type.py), kept equal


def item_init(self, hash_key, range_key, attrs):
    self.hash_key = hash_key
    self.range_key = range_key
    self.attrs = dynamo_type.LimitedSizeDict()
    total = 0
    for key, value in attrs.items():
        typed = dynamo_type.DynamoType(value)
        added = bytesize(key) + typed.size()
        if total + added > _LIMIT:
            raise ItemSizeTooLarge
        dict.__setitem__(self.attrs, key, typed)
        total += added


dynamo_type.Item.__init__ = item_init

# 3. DynamoType.size of a set builds a DynamoType per element to size it (a window item's offsets
#    set: 60 objects per size, and BatchGetItem sizes each item twice). An element of an NS sizes
#    as a number, len(str(v)); of an SS or BS as bytesize(v) (1 for a bool, as moto's fallback
#    has it). The same figures without the objects; every other kind keeps moto's size().
_size = dynamo_type.DynamoType.size


def _element_size(v):
    return 1 if isinstance(v, bool) else bytesize(v)


def dynamo_size(self):
    if self.type == "NS":
        return sum([len(str(v)) for v in self.value])
    if self.type in ("SS", "BS"):
        return sum([_element_size(v) for v in self.value])
    return _size(self)


dynamo_type.DynamoType.size = dynamo_size

# 2. moto 5.2 serializes every response through botocore's shapes; for an AttributeValue it asks the
#    value picker for each of the shape's 10 members under several aliases: 0.7 s for a BatchGetItem
#    of 100 window items. An AttributeValue moto answers is a dict {type: value}; when it is one of
#    the plain kinds (S, N: a string; SS, NS: a list of strings; BOOL, NULL: a bool) the generic path
#    copies that value as is (JSON has no conversion for strings and booleans, and the DynamoDB
#    handler has no response transformers), so the same dict is written directly. Anything else
#    (B, BS: base64; M, L: nested values that may be DynamoType objects; any other shape) takes
#    moto's own path.
_STRINGS = frozenset(("S", "N"))
_STRING_LISTS = frozenset(("SS", "NS"))
_BOOLS = frozenset(("BOOL", "NULL"))
_serialize_structure = serialize.BaseJSONSerializer._serialize_type_structure


def _plain_attribute_value(value):
    if type(value) is not dict or len(value) != 1:
        return None
    ((kind, inner),) = value.items()
    if kind in _STRINGS and type(inner) is str:
        return {kind: inner}
    if kind in _STRING_LISTS and type(inner) is list and all(type(v) is str for v in inner):
        return {kind: list(inner)}
    if kind in _BOOLS and type(inner) is bool:
        return {kind: inner}
    return None


# The same holds for Kinesis's PutRecordsResultEntry (one per record of a PutRecords, 7 of the
# 10 ms moto spent on a PutRecords of 100): moto answers each as a dict of strings keyed by the
# shape's own member names (SequenceNumber, ShardId), which the generic path copies in member order;
# a plain dict has no alias that could stand for an absent member here (the entry's other members
# are ErrorCode and ErrorMessage). Any other value takes moto's own path.
_PUT_RECORDS_ENTRY = frozenset(("SequenceNumber", "ShardId", "ErrorCode", "ErrorMessage"))


def _plain_put_records_entry(value, shape):
    if type(value) is not dict or not value.keys() <= _PUT_RECORDS_ENTRY or not all(type(v) is str for v in value.values()):
        return None
    return {k: value[k] for k in shape.members if k in value}


def serialize_structure(self, serialized, value, shape, key):
    if key and not getattr(self._value_picker, "response_transformers", None):
        if shape.name == "AttributeValue":
            plain = _plain_attribute_value(value)
            # 13. A binary value (B: the readings table's packed reading offsets, one per window item
            #     a BatchGetItem answers) took the generic path, 0.3 ms each: the shape's member B is a
            #     blob, which the generic path writes as self._base64(value) (_serialize_type_blob,
            #     for str or bytes alike), under its own name. The same here for a non-empty value.
            if plain is None and type(value) is dict and len(value) == 1:
                inner = value.get("B")
                if type(inner) in (bytes, str) and len(inner) > 0:
                    plain = {"B": self._base64(inner)}
        elif shape.name == "PutRecordsResultEntry":
            plain = _plain_put_records_entry(value, shape)
        else:
            plain = None
        if plain is not None:
            serialized[self.get_serialized_name(shape, key)] = plain
            return
    _serialize_structure(self, serialized, value, shape, key)


serialize.BaseJSONSerializer._serialize_type_structure = serialize_structure

# 7. TransactWriteItems (the processor's conditional writes, 100 per call) backs up every table it
#    touches with copy.deepcopy of the whole table, once per action, before it writes, so that it can
#    put the tables back if one action fails: O(actions x items in the table) per call (7 s for 100
#    actions on a table of 500 items, 65 s at 5,000; measured with scripts/simulate/bench-moto.ts).
#    Here the backup is of the items the actions touch, and what a cancelled transaction wrote is put
#    back item by item: the same tables afterwards (each touched item as it was, the others never
#    changed), the same answers and errors (moto's own transaction code runs, with its table copies
#    made no-ops). No other write runs meanwhile (9. below).
import moto.dynamodb.models as dynamodb_models
from moto.dynamodb.models.table import Table as DynamoDBTable

copy_module = __import__("copy")


class _NoTableCopies:
    """moto.dynamodb.models' `copy`, with deepcopy of a whole table turned into the table itself."""

    def __getattr__(self, name):
        return getattr(copy_module, name)

    @staticmethod
    def deepcopy(value, *args, **kwargs):
        if isinstance(value, DynamoDBTable):
            return value
        return copy_module.deepcopy(value, *args, **kwargs)


dynamodb_models.copy = _NoTableCopies()
_transact_write_items = dynamodb_models.DynamoDBBackend.transact_write_items


def _touched_items(backend, transact_items):
    """(table, hash value, range value, a copy of the item or None) of each item the actions name."""
    undo, seen = [], set()
    for action in transact_items:
        try:
            _, op = next(iter(action.items()))
            table = backend.tables.get(op.get("TableName"))
            if table is None:
                continue
            key = op["Item"] if "Item" in op else op["Key"]
            hash_value = dynamo_type.DynamoType(key[table.hash_key_attr])
            range_value = dynamo_type.DynamoType(key[table.range_key_attr]) if table.range_key_attr else None
            ident = (table.name, str(hash_value), str(range_value))
            if ident in seen:
                continue
            seen.add(ident)
            stored = table.get_item(hash_value, range_value)
            # 12b. Only an Update changes a stored item in place; a Put puts a new Item in its place and
            #      a Delete takes it out, leaving the stored object as it was: for those the object itself
            #      is the backup (a copy of it is equal to it). A second action on the same item is refused
            #      (moto's check_unicity) before it runs, so the first action naming an item decides.
            undo.append((table, hash_value, range_value, copy_module.deepcopy(stored) if "Update" in action else stored))
        except Exception:  # an action moto will refuse before writing it: nothing of it to undo
            continue
    return undo


def transact_write_items(self, transact_items):
    undo = _touched_items(self, transact_items)
    try:
        return _transact_write_items(self, transact_items)
    except Exception:
        for table, hash_value, range_value, before in reversed(undo):
            if before is None:
                if table.get_item(hash_value, range_value) is not None:
                    table.delete_item(hash_value, range_value)
            elif range_value is not None:
                table.items[hash_value][range_value] = before
            else:
                table.items[hash_value] = before
        raise


dynamodb_models.DynamoDBBackend.transact_write_items = transact_write_items

# 9. DynamoDB applies each write (a conditional one, a whole transaction) atomically; moto's server
#    answers requests on threads, and two writes of one item can interleave their condition check
#    and their write (two attempts of a window both succeeding), and a cancelled transaction can put
#    back an item another request wrote meanwhile. The writes take one lock here, so that each is
#    whole before the next begins, as in DynamoDB. Reads are not held up.
_write_lock = threading.RLock()
_atomic = _locked_by(_write_lock)


for _name in ("put_item", "update_item", "delete_item", "batch_write_item", "transact_write_items"):
    setattr(dynamodb_models.DynamoDBBackend, _name, _atomic(getattr(dynamodb_models.DynamoDBBackend, _name)))

# 10. UpdateItem validates an update expression with traversers that run their check at every
#    UpdateExpression node of the tree (one per action), each check walking the node's whole
#    subtree: O(actions²) per update. Two of them are such: at most one SET, ADD and REMOVE clause
#    (ActionCountValidator), and no path updated twice (OverlappingPathsValidator): 80% of moto's
#    time in the console status sink's UpdateItem of 125 assignments (measured in-process: 93 ms,
#    36 ms with this). The root's subtree holds every action of the nested ones, so one check at the
#    root refuses every expression the checks at every node refused, with the same exception; only
#    the list of paths in DuplicateUpdateExpression's message can be longer (all of them, where a
#    nested node named the first it found). The processor never sends either.
from moto.dynamodb.parsing import validators as dynamodb_validators


def _check_at_root(check_name):
    def traverse(self, node):
        if isinstance(node, dynamodb_validators.UpdateExpression):
            return getattr(self, check_name)(node)
        return node

    return traverse


dynamodb_validators.ActionCountValidator.traverse = _check_at_root("verify_action_counts")
dynamodb_validators.OverlappingPathsValidator.traverse = _check_at_root("check_for_overlapping_paths")

# 11. UpdateItem of many attributes (the console's status items: one attribute per sensor, a batch
#    SETting 50-150 of them at once). Three costs grow with the expression or the item:
#    a. LimitedSizeDict.__setitem__ re-sums the size of every key and value already in the item
#       before each SET of a top-level attribute, through DynamoType.size(): O(attributes x actions)
#       per update, half of moto's time in the status UpdateItem. The same sum, the same comparison
#       with the same limit, is computed here in one loop with the plain kinds (S, N, BOOL, NULL:
#       an immutable value) sized inline as moto's size() sizes them (S: bytesize of the string;
#       N: len(str(value)); a bool: 1); any other value (sets, lists, maps, binaries, a non-
#       DynamoType) is sized by moto's own code. Linear still, but without the calls and lists.
#    b. The update expression is parsed twice per UpdateItem (responses.py, to list the names and
#       values it uses, then the backend): UpdateExpressionParser.make is a pure function of the
#       expression string, and nothing mutates the tree it returns (responses.py only lists its
#       clauses; the backend's validators work on a deepcopy of it, and the executor on the
#       validated copy), so the tree of a string already parsed is answered again. A string that
#       fails to parse raises each time (exceptions are not cached). The processor's expressions
#       repeat: a status write's is `SET #u = :u, #s0 = :s0, ...`, one per number of sensors.
#    c. That deepcopy of the tree goes through copy's __reduce_ex__ protocol per node (reconstruct,
#       state dict, __dict__.update); Node.__deepcopy__ here does the same steps directly: a new
#       instance of the same class, registered in the memo before its state is copied (the tree's
#       parent links resolve to the copies as before), its __dict__ a deepcopy of the original's.
#       The AST nodes have no __slots__, __setstate__ nor __reduce__ of their own (moto 5.2).
#    d. The validators' traversals ask nodes_to_be_processed() at every node of the tree, which
#       builds the traverser's processing map (a dict of bound methods) and a tuple of its keys each
#       time. Every traverser's map is a literal whose keys are classes (validators.py), the same on
#       every call: the tuple is kept per traverser class. Each traverser still visits every node.
_item_limit = _LIMIT
_DynamoType = dynamo_type.DynamoType


def limited_size_setitem(self, key, value):
    current = 0
    for k, v in dict.items(self):
        current += len(k.encode("utf-8")) if type(k) is str else bytesize(str(k))
        if type(v) is _DynamoType:
            t = v.type
            val = v.value
            if t == "S" and type(val) is str:
                current += len(val.encode("utf-8"))
            elif t == "N" and type(val) is str:
                current += len(val)
            elif (t == "BOOL" or t == "NULL") and type(val) is bool:
                current += 1
            else:
                current += v.size()
        else:
            current += bytesize(str(v))
    new_size = bytesize(key) + (value.size() if type(value) is _DynamoType else bytesize(str(value)))
    if current + new_size > _item_limit:
        raise ItemSizeTooLarge
    dict.__setitem__(self, key, value)


dynamo_type.LimitedSizeDict.__setitem__ = limited_size_setitem

from moto.dynamodb.parsing import ast_nodes as dynamodb_ast
from moto.dynamodb.parsing import expressions as dynamodb_expressions

_parse_update = dynamodb_expressions.UpdateExpressionParser.make.__func__
dynamodb_expressions.UpdateExpressionParser.make = classmethod(functools.lru_cache(maxsize=1024)(_parse_update))


_ATOMS = frozenset((str, int, float, bool, type(None)))


def _copy_value(value, memo):
    """deepcopy(value, memo) for what a node's attributes hold; immutable scalars are answered as
    copy.deepcopy answers them (the value itself), nodes through node_deepcopy, lists element by
    element, anything else through copy.deepcopy."""
    kind = type(value)
    if kind in _ATOMS:
        return value
    known = memo.get(id(value))
    if known is not None:
        return known
    if kind is list:
        copied = []
        memo[id(value)] = copied
        copied.extend([_copy_value(v, memo) for v in value])
        return copied
    if isinstance(value, dynamodb_ast.Node):
        return node_deepcopy(value, memo)
    return copy_module.deepcopy(value, memo)


def node_deepcopy(self, memo):
    cls = self.__class__
    copied = cls.__new__(cls)
    memo[id(self)] = copied
    # 14. As copy.deepcopy of the node's __dict__ into the new instance (the same keys in the same
    #     order, each value copied with the same memo, so a parent link resolves to the copy already
    #     made), without deepcopy's dispatch per element: the type, children and parent of every node
    #     of a 60-node update expression were a quarter of moto's time in an alert state transaction (cProfile, in process).
    copied.__dict__.update({key: _copy_value(value, memo) for key, value in self.__dict__.items()})
    return copied


dynamodb_ast.Node.__deepcopy__ = node_deepcopy
_processed_by_class = {}


def nodes_to_be_processed(self):
    kinds = _processed_by_class.get(type(self))
    if kinds is None:
        kinds = _processed_by_class[type(self)] = tuple(self._processing_map().keys())
    return kinds


dynamodb_ast.DepthFirstTraverser.nodes_to_be_processed = nodes_to_be_processed

# 15. Each traversal (eight per update expression, one per validator) asks at every node whether it
#    is a Node and whether it is of a kind the traverser processes, and process() tries each kind of
#    the traverser's map in turn: isinstance against classes of an ABCMeta hierarchy (Node's
#    metaclass), 4.4 million checks in 100 of the processor's alert state transactions. Neither
#    answer can change while the server runs (no class is registered as a virtual subclass of a node
#    class, and each traverser's map is a literal of the same classes and methods): they are kept
#    per node type (and traverser class). The traversal itself is moto's: the same nodes visited in
#    the same order, pre_processing_of_child before each child, each processed node put in its place.
_is_node_type = {}
_processed_kind = {}
_UNSET = object()


def _is_node(kind):
    known = _is_node_type.get(kind)
    if known is None:
        known = _is_node_type[kind] = issubclass(kind, dynamodb_ast.Node)
    return known


def _processor_of(traverser, node):
    """What processes this kind of node, called as f(traverser, node) (None: not processed)."""
    key = (type(traverser), type(node))
    found = _processed_kind.get(key, _UNSET)
    if found is _UNSET:
        found = None
        for class_key, processor in traverser._processing_map().items():
            if isinstance(node, class_key):
                if getattr(processor, "__self__", None) is not traverser:
                    return lambda _traverser, n: processor(n)  # not a method of the traverser: asked again each time
                found = processor.__func__
                break
        _processed_kind[key] = found
    return found


def traverse_node_recursively(self, node, child_id=-1):
    if _is_node(type(node)):
        parent_node = node.parent
        if node.children is not None:
            for i, child_node in enumerate(node.children):
                self.pre_processing_of_child(node, i)
                self.traverse_node_recursively(child_node, i)
        processor = _processor_of(self, node)
        if processor is not None:
            node = processor(self, node)
            node.parent = parent_node
            if parent_node:
                parent_node.children[child_id] = node
    return node


dynamodb_ast.DepthFirstTraverser.traverse_node_recursively = traverse_node_recursively

# 16. An UpdateItem (and each Update of a TransactWriteItems) validates its expression by copying the
#    parsed tree and walking the copy with ten validators, then executes the copy: ~1.2 ms of moto per
#    Update of the alert store's 8-attribute state write (an alert state transaction of 68 Updates:
#    85 ms), where a Put of a 30-attribute window item takes 0.2 ms. The processor's updates (alert
#    state, sensor status) are all of one simple form: SET of top-level attributes to values
#    (`#n = :v` or `n = :v`) and REMOVE of top-level attributes, at most one SET and one REMOVE
#    clause. For that form the validators' outcome is decided by a few facts, checked here:
#    every placeholder is defined, no unescaped name is a reserved word, no attribute is named twice,
#    none is a key of the table, and a value set to a name written as an attribute definition's (or an
#    index key's) is of its type (and not an empty string or binary): moto's type and empty-string
#    checks compare the name as written, a placeholder unresolved. When all hold, moto's
#    validators raise nothing and leave a tree whose execution sets each attribute to DynamoType(its
#    value) and pops each removed one, in moto's order (normalize(): the REMOVEs sorted as moto sorts
#    them, after the SETs that precede them): that is what is done, on the same item, through the
#    same LimitedSizeDict (the same ItemSizeTooLarge, which update_item turns into the same error).
#    Anything else (another form, or a fact that does not hold, so that moto would raise) takes
#    moto's own validation and execution, so every error is moto's.

from moto.dynamodb.parsing import executors as dynamodb_executors
from moto.dynamodb.parsing.reserved_keywords import ReservedKeywords

_RESERVED = frozenset(ReservedKeywords.get_reserved_keywords())
_simple_plans = {}  # id(parsed tree) -> (tree, plan or None); the trees are the parse cache's
_ACTION_KINDS = [
    dynamodb_ast.UpdateExpressionSetAction,
    dynamodb_ast.UpdateExpressionRemoveAction,
    dynamodb_ast.UpdateExpressionAddAction,
    dynamodb_ast.UpdateExpressionDeleteAction,
]


def _top_level_name(path):
    """('#', placeholder) or ('', name) for a path of one attribute; None for any other path."""
    if type(path) is not dynamodb_ast.UpdateExpressionPath or len(path.children or []) != 1:
        return None
    (element,) = path.children
    if type(element) is dynamodb_ast.ExpressionAttributeName:
        return ("#", element.get_attribute_name_placeholder())
    if type(element) is dynamodb_ast.ExpressionAttribute:
        return ("", element.get_attribute_name())
    return None


def _simple_plan(tree):
    """The simple form's actions in moto's execution order, as (op, kind, token, value placeholder); None otherwise."""
    if type(tree) is not dynamodb_ast.UpdateExpression:
        return None
    for clause in (dynamodb_ast.UpdateExpressionSetClause, dynamodb_ast.UpdateExpressionRemoveClause):
        if len(tree.find_clauses([clause])) > 1:
            return None
    if tree.find_clauses([dynamodb_ast.UpdateExpressionAddClause, dynamodb_ast.UpdateExpressionDeleteClause]):
        return None
    ordered, removes = [], []
    for action in tree.find_clauses(_ACTION_KINDS):
        if type(action) is dynamodb_ast.UpdateExpressionRemoveAction:
            if len(action.children) != 1:
                return None
            removes.append(action)
            continue
        if type(action) is not dynamodb_ast.UpdateExpressionSetAction or len(action.children) != 2:
            return None
        ordered.extend(sorted(removes, reverse=True))  # as normalize() orders them
        removes = []
        ordered.append(action)
    ordered.extend(sorted(removes, reverse=True))
    plan = []
    for action in ordered:
        target = _top_level_name(action.children[0])
        if target is None:
            return None
        if type(action) is dynamodb_ast.UpdateExpressionRemoveAction:
            plan.append(("remove", target[0], target[1], None))
            continue
        value = action.children[1]
        if type(value) is not dynamodb_ast.UpdateExpressionValue or len(value.children or []) != 1 or type(value.children[0]) is not dynamodb_ast.ExpressionAttributeValue:
            return None
        plan.append(("set", target[0], target[1], value.children[0].get_value_name()))
    return tuple(plan)


def _plan_of(tree):
    known = _simple_plans.get(id(tree))
    if known is None or known[0] is not tree:
        if len(_simple_plans) > 4096:
            _simple_plans.clear()
        known = _simple_plans[id(tree)] = (tree, _simple_plan(tree))
    return known[1]


def _checked(plan, names, values, table):
    """The plan's operations with names resolved and values typed, when moto's validators would raise nothing; else None."""
    key_attrs = table.table_key_attrs
    ops, seen = [], set()
    for op, kind, token, value_name in plan:
        if kind == "#":
            if not isinstance(names, dict) or token not in names:
                return None
            name = names[token]
        else:
            if token.upper() in _RESERVED:
                return None
            name = token
        if name in seen or name in key_attrs:
            return None
        seen.add(name)
        if op == "remove":
            ops.append((op, name, None))
            continue
        if not isinstance(values, dict) or value_name not in values:
            return None
        value = dynamo_type.DynamoType(values[value_name])
        # moto's TypeMismatchValidator and EmptyStringKeyValueValidator compare the name as written
        # (a placeholder is not resolved) with the table's attribute definitions and index keys.
        for definition in table.attr:
            if definition["AttributeName"] == token and definition["AttributeType"] != value.type:
                return None
        if not value.value and value.type in ("S", "B") and token in table.attribute_keys:
            return None
        ops.append((op, name, value))
    return ops


class _SimpleUpdate:
    """A validated simple update: its operations; normalize() has nothing to do (the plan is in moto's order)."""

    def __init__(self, ops):
        self.ops = ops

    def normalize(self):
        pass


class FastUpdateExpressionValidator(dynamodb_validators.UpdateExpressionValidator):
    def __init__(self, expression, expression_attribute_names, expression_attribute_values, item, table):
        plan = _plan_of(expression)
        self._simple = None if plan is None else _checked(plan, expression_attribute_names, expression_attribute_values, table)
        if self._simple is None:
            super().__init__(expression, expression_attribute_names, expression_attribute_values, item, table)

    def validate(self):
        if self._simple is not None:
            return _SimpleUpdate(self._simple)
        return super().validate()


class FastUpdateExpressionExecutor(dynamodb_executors.UpdateExpressionExecutor):
    def execute(self, node=None):
        if node is None and type(self.update_ast) is _SimpleUpdate:
            attrs = self.item.attrs
            for op, name, value in self.update_ast.ops:
                if op == "set":
                    attrs[name] = value
                else:
                    attrs.pop(name, None)
            return None
        return super().execute(node)


dynamodb_models.UpdateExpressionValidator = FastUpdateExpressionValidator
dynamodb_models.UpdateExpressionExecutor = FastUpdateExpressionExecutor

# 12. The processor's conditional writes (100 window Puts to a TransactWriteItems, each with
#    `attribute_not_exists(#pk)` or `#count = :known`): in process, 30% of moto's time in one went to
#    parsing condition expressions (three times per action: the transaction's check, then put_item's
#    own check of the same condition) and 17% to parsing the request's AttributeValues through
#    botocore's shapes (b. is above, in the transaction's backup).
#    a. get_filter_expression(expression, names, values) is a pure function of its arguments: the
#       tree it builds holds the values given and is only read afterwards (every Op and Func assigns
#       its fields in __init__ and evaluates with expr(item), comparisons.py), so the tree of the
#       same three arguments (compared as canonical JSON; arguments that are not JSON are parsed as
#       before) is answered again. An expression that fails to parse raises each time.
#    c. The request parser makes each AttributeValue through the shape's 10 members. For a plain
#       one (a dict of one member: S or N holding a string, SS or NS a list of strings) the generic
#       path gives a dict of that member with the string, or a list of the same strings
#       (BaseJSONParser._parse_string returns a string as is unless its shape is a JSON header,
#       which these are not), so that is made directly; anything else takes moto's path.
import moto.core.parse as core_parse
import moto.dynamodb.comparisons as dynamodb_comparisons
import moto.dynamodb.models.table as dynamodb_table

_get_filter_expression = dynamodb_comparisons.get_filter_expression


@functools.lru_cache(maxsize=4096)
def _filter_expression_of(canonical):
    expression, names, values = json.loads(canonical)
    return _get_filter_expression(expression, names, values)


def cached_filter_expression(expr, names, values):
    try:
        canonical = json.dumps([expr, names, values], sort_keys=True)
    except (TypeError, ValueError):
        return _get_filter_expression(expr, names, values)
    return _filter_expression_of(canonical)


dynamodb_comparisons.get_filter_expression = cached_filter_expression
dynamodb_models.get_filter_expression = cached_filter_expression
dynamodb_table.get_filter_expression = cached_filter_expression

_parse_structure = core_parse.BaseJSONParser._parse_structure


def parse_structure(self, shape, value):
    if shape.name == "AttributeValue" and self.MAP_TYPE is dict and type(value) is dict and len(value) == 1:
        ((kind, inner),) = value.items()
        if kind in _STRINGS and type(inner) is str:
            return {kind: inner}
        if kind in _STRING_LISTS and type(inner) is list and all(type(v) is str for v in inner):
            return {kind: list(inner)}
    return _parse_structure(self, shape, value)


core_parse.BaseJSONParser._parse_structure = parse_structure

# 8. SQS: every message sent computes the queue's attributes (for ContentBasedDeduplication), among
#    them the approximate message counts, which ask each message in the queue whether it is visible
#    and delayed, each asking the time through moto's unix_time: utcnow() and a datetime subtraction,
#    about 7 µs. A send to a queue of 500 messages took 8 ms; an EventBridge rule delivering to an SQS
#    target (the simulator's alerts) sends one per event. The current time is the same number from
#    time.time() (seconds since the epoch, as a float); a given datetime is converted as before.
import moto.sqs.models as sqs_models

_unix_time = sqs_models.unix_time


def fast_unix_time(dt=None):
    return time.time() if dt is None else _unix_time(dt)


def fast_unix_time_millis(dt=None):
    return fast_unix_time(dt) * 1000.0


sqs_models.unix_time = fast_unix_time
sqs_models.unix_time_millis = fast_unix_time_millis


#    The three approximate counts each walk the queue; here one walk answers each, with the time read
#    once per walk instead of once per message (a message's visibility and delay as before: visible
#    after visible_at, delayed before delayed_until). The attributes' names are converted to moto's
#    property names once (camelcase_to_underscores is a pure function of its argument).
def _count(queue, keep):
    now = time.time() * 1000.0
    return sum(1 for m in queue._messages if keep(m, now))


sqs_models.Queue.approximate_number_of_messages = property(lambda self: _count(self, lambda m, now: now > m.visible_at and not now < m.delayed_until))
sqs_models.Queue.approximate_number_of_messages_not_visible = property(lambda self: _count(self, lambda m, now: not now > m.visible_at))
sqs_models.Queue.approximate_number_of_messages_delayed = property(lambda self: _count(self, lambda m, now: now < m.delayed_until))
sqs_models.camelcase_to_underscores = functools.lru_cache(maxsize=None)(sqs_models.camelcase_to_underscores)

# --- Every request --------------------------------------------------------------------------
# 4. The dispatcher asks backends.list_of_moto_modules() on every request, which lists moto's
#    package directory and stats each entry (~0.5 ms a request). The installed package does not
#    change while the server runs: the listing is made once and the same names are answered.
import moto.backends as backends
import moto.core.responses as core_responses

_moto_modules = tuple(backends.list_of_moto_modules())
backends.list_of_moto_modules = lambda: iter(_moto_modules)

# 5. BaseResponse.call_action finds the action's method with inspect.getmembers of the response
#    class on every request (~0.25 ms). moto does not add methods to its response classes while
#    it runs (nor does this launcher), so the names are the same each time: kept per class, a new
#    list each call as before.
_method_names = core_responses.method_names_from_class
_method_names_by_class = {}


def method_names_from_class(clazz):
    names = _method_names_by_class.get(clazz)
    if names is None:
        names = _method_names_by_class[clazz] = tuple(_method_names(clazz))
    return list(names)


core_responses.method_names_from_class = method_names_from_class

# 6. werkzeug logs a line per request at INFO on stderr (~0.2 ms a request, and the simulator
#    keeps only the tail of moto's stderr for its error messages). Its logger is set to WARNING:
#    the request lines (and the INFO banner) go, errors and tracebacks are still logged. The
#    answers are not touched.
import logging

logging.getLogger("werkzeug").setLevel(logging.WARNING)

STATS_FILE = os.environ.get("SIM_MOTO_STATS")
if STATS_FILE:
    import moto.moto_server.werkzeug_app as werkzeug_app

    _lock = threading.Lock()
    _stats = {}
    _call = werkzeug_app.DomainDispatcherApplication.__call__

    def timed_call(self, environ, start_response):
        target = environ.get("HTTP_X_AMZ_TARGET") or environ.get("QUERY_STRING", "").split("Action=")[-1].split("&")[0] or environ.get("PATH_INFO", "")
        started = time.perf_counter()
        cpu0 = time.thread_time()
        try:
            return _call(self, environ, start_response)
        finally:
            elapsed = time.perf_counter() - started
            cpu = time.thread_time() - cpu0
            with _lock:
                entry = _stats.setdefault(target.split(".")[-1][:60], [0, 0.0, 0.0])
                entry[0] += 1
                entry[1] += elapsed
                entry[2] += cpu

    werkzeug_app.DomainDispatcherApplication.__call__ = timed_call

    def write_stats(*_):
        with open(STATS_FILE, "w") as f:
            json.dump({k: {"calls": v[0], "seconds": round(v[1], 3), "cpuSeconds": round(v[2], 3)} for k, v in sorted(_stats.items(), key=lambda kv: -kv[1][1])}, f, indent=1)
        os._exit(0)

    # moto's main installs its own handler for SIGTERM by this name.
    server.signal_handler = write_stats

# The simulator starts moto in a process group of its own (a Ctrl-C in the terminal must not reach
# it while the simulator drains): so moto also stops by itself when the simulator is gone (killed
# with SIGKILL, say), instead of running on as an orphan.
_parent = os.getppid()


def _exit_with_parent():
    while True:
        time.sleep(1)
        if os.getppid() != _parent:
            os._exit(0)


threading.Thread(target=_exit_with_parent, daemon=True).start()

if __name__ == "__main__":
    server.main(sys.argv[1:])

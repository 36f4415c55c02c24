"""Java Object Serialization of a ``java.util.HashMap<byte[], byte[]>``: Kafka Connect's standalone offsets file.

The standalone worker of Kafka Connect keeps source offsets in ``offset.storage.file.filename``, written by
``ObjectOutputStream.writeObject`` from a ``HashMap<byte[], byte[]>``. kcfast reads such files and writes files
that ``ObjectInputStream.readObject`` reads back as the same map.

Reading follows the stream grammar of the Java Object Serialization Specification (chapter 6) for the parts a
serialized ``HashMap<byte[], byte[]>`` can contain: back references (``TC_REFERENCE``) to class descriptors and
arrays, any block-data split of the map's capacity and size, ``TC_RESET`` before the top-level object, any
capacity, and bytes after the map (ignored, as Java ignores them). Anything else raises
:class:`JavaSerializationError` with the problem and the byte offset; a stream that ends early raises
:class:`TruncatedStreamError`, its subclass, because Kafka treats such a file as holding no offsets.

Writing produces exactly the bytes of the JDK 17 for a ``HashMap`` built by ``put`` calls in the given order:
table capacity 16, doubled while the size exceeds three quarters of it; threshold three quarters of the capacity
(0 and capacity 16 for an empty map, which never allocated a table).
"""

from __future__ import annotations

import struct
from collections.abc import Mapping

from kcfast.errors import ConnectError

__all__ = [
    "JavaSerializationError",
    "TruncatedStreamError",
    "decode_hashmap",
    "encode_hashmap",
    "hashmap_capacity",
]

STREAM_MAGIC = 0xACED
STREAM_VERSION = 5
BASE_WIRE_HANDLE = 0x7E0000

TC_NULL = 0x70
TC_REFERENCE = 0x71
TC_CLASSDESC = 0x72
TC_OBJECT = 0x73
TC_STRING = 0x74
TC_ARRAY = 0x75
TC_CLASS = 0x76
TC_BLOCKDATA = 0x77
TC_ENDBLOCKDATA = 0x78
TC_RESET = 0x79
TC_BLOCKDATALONG = 0x7A
TC_EXCEPTION = 0x7B
TC_LONGSTRING = 0x7C
TC_PROXYCLASSDESC = 0x7D
TC_ENUM = 0x7E

SC_WRITE_METHOD = 0x01
SC_SERIALIZABLE = 0x02
SC_EXTERNALIZABLE = 0x04
SC_BLOCK_DATA = 0x08
SC_ENUM = 0x10

HASHMAP_CLASS = "java.util.HashMap"
HASHMAP_SUID = 362498820763181265  # 0x0507DAC1C31660D1
BYTE_ARRAY_CLASS = "[B"
BYTE_ARRAY_SUID = -5984413125824719648  # 0xACF317F8060854E0

_TC_NAMES = {
    TC_NULL: "TC_NULL",
    TC_REFERENCE: "TC_REFERENCE",
    TC_CLASSDESC: "TC_CLASSDESC",
    TC_OBJECT: "TC_OBJECT",
    TC_STRING: "TC_STRING",
    TC_ARRAY: "TC_ARRAY",
    TC_CLASS: "TC_CLASS",
    TC_BLOCKDATA: "TC_BLOCKDATA",
    TC_ENDBLOCKDATA: "TC_ENDBLOCKDATA",
    TC_RESET: "TC_RESET",
    TC_BLOCKDATALONG: "TC_BLOCKDATALONG",
    TC_EXCEPTION: "TC_EXCEPTION",
    TC_LONGSTRING: "TC_LONGSTRING",
    TC_PROXYCLASSDESC: "TC_PROXYCLASSDESC",
    TC_ENUM: "TC_ENUM",
}
_PRIMITIVE_SIZES = {"B": 1, "C": 2, "D": 8, "F": 4, "I": 4, "J": 8, "S": 2, "Z": 1}
_OBJECT_TYPECODES = frozenset("L[")


class JavaSerializationError(ConnectError):
    """Bytes that are not a Java serialization of a ``HashMap<byte[], byte[]>``.

    Attributes:
        offset: the byte offset in the stream where the problem was found.
    """

    def __init__(self, message: str, offset: int) -> None:
        super().__init__(f"{message} (at byte offset {offset})")
        self.offset = offset


class TruncatedStreamError(JavaSerializationError):
    """The stream ends before the serialized map does (Java's ``EOFException``)."""


def _tc_name(tc: int) -> str:
    return _TC_NAMES.get(tc, f"0x{tc:02X}")


class _ClassDesc:
    """A class descriptor read from the stream."""

    __slots__ = ("fields", "flags", "name", "suid", "super_desc")

    def __init__(self, name: str, suid: int, flags: int) -> None:
        self.name = name
        self.suid = suid
        self.flags = flags
        self.fields: list[tuple[str, str]] = []  # (typecode, field name)
        self.super_desc: _ClassDesc | None = None


class _Reader:
    """A cursor over the stream, with the handle table and block-data mode of ``ObjectInputStream``."""

    def __init__(self, data: bytes) -> None:
        self.data = memoryview(data)
        self.pos = 0
        self.handles: list[object] = []
        # Bytes left in the current block-data segment when reading primitives in block-data mode.
        self.block_remaining = 0

    # -- raw reads -------------------------------------------------------------------------------------------

    def need(self, count: int, what: str) -> None:
        if self.pos + count > len(self.data):
            raise TruncatedStreamError(f"Stream ends inside {what}", len(self.data))

    def u8(self, what: str) -> int:
        self.need(1, what)
        value = self.data[self.pos]
        self.pos += 1
        return value

    def peek(self, what: str) -> int:
        self.need(1, what)
        return self.data[self.pos]

    def unpack(self, fmt: struct.Struct, what: str) -> int:
        self.need(fmt.size, what)
        (value,) = fmt.unpack_from(self.data, self.pos)
        self.pos += fmt.size
        return int(value)

    def take(self, count: int, what: str) -> bytes:
        self.need(count, what)
        value = bytes(self.data[self.pos : self.pos + count])
        self.pos += count
        return value

    def utf(self, what: str) -> str:
        length = self.unpack(_U16, what)
        return _decode_modified_utf8(self.take(length, what), self.pos - length)

    def new_handle(self, obj: object) -> int:
        self.handles.append(obj)
        return len(self.handles) - 1

    # -- grammar ---------------------------------------------------------------------------------------------

    def class_desc(self) -> _ClassDesc | None:
        """``classDesc``: a new descriptor, a null reference or a reference to an earlier descriptor."""
        start = self.pos
        tc = self.u8("a class descriptor")
        if tc == TC_NULL:
            return None
        if tc == TC_REFERENCE:
            obj = self.reference(start)
            if not isinstance(obj, _ClassDesc):
                raise JavaSerializationError("Reference to a non-class object where a class descriptor is expected",
                                             start)
            return obj
        if tc == TC_CLASSDESC:
            name = self.utf("a class name")
            suid = self.unpack(_I64, "a serialVersionUID")
            desc = _ClassDesc(name, suid, 0)
            self.new_handle(desc)
            desc.flags = self.u8("class descriptor flags")
            count = self.unpack(_I16, "a field count")
            if count < 0:
                raise JavaSerializationError(f"Negative field count {count} in class descriptor {name}", self.pos - 2)
            for _ in range(count):
                field_start = self.pos
                typecode = chr(self.u8("a field type code"))
                field_name = self.utf("a field name")
                if typecode in _OBJECT_TYPECODES:
                    self.type_string()
                elif typecode not in _PRIMITIVE_SIZES:
                    raise JavaSerializationError(f"Invalid field type code {typecode!r} in class descriptor {name}",
                                                 field_start)
                desc.fields.append((typecode, field_name))
            self.skip_annotation(f"the class annotation of {name}")
            desc.super_desc = self.class_desc()
            return desc
        if tc == TC_PROXYCLASSDESC:
            raise JavaSerializationError("Unexpected dynamic proxy class descriptor", start)
        raise JavaSerializationError(f"Expected a class descriptor but found {_tc_name(tc)}", start)

    def type_string(self) -> str:
        """``className1``: the JVM type signature of an object field, a string or a reference to one."""
        start = self.pos
        tc = self.u8("a field type signature")
        if tc == TC_STRING:
            text = self.utf("a field type signature")
            self.new_handle(text)
            return text
        if tc == TC_LONGSTRING:
            length = self.unpack(_I64, "a field type signature")
            if length < 0:
                raise JavaSerializationError("Negative string length", start)
            text = _decode_modified_utf8(self.take(length, "a field type signature"), self.pos - length)
            self.new_handle(text)
            return text
        if tc == TC_REFERENCE:
            obj = self.reference(start)
            if not isinstance(obj, str):
                raise JavaSerializationError("Field type signature refers to a non-string object", start)
            return obj
        raise JavaSerializationError(f"Expected a field type signature string but found {_tc_name(tc)}", start)

    def reference(self, start: int) -> object:
        handle = self.unpack(_I32, "a back reference")
        index = handle - BASE_WIRE_HANDLE
        if not 0 <= index < len(self.handles):
            raise JavaSerializationError(f"Invalid back reference handle 0x{handle & 0xFFFFFFFF:08X}", start)
        return self.handles[index]

    def skip_annotation(self, what: str) -> None:
        """Skip ``contents endBlockData`` (class annotations; nothing kcfast needs is ever written there)."""
        while True:
            start = self.pos
            tc = self.peek(what)
            if tc == TC_ENDBLOCKDATA:
                self.pos += 1
                return
            if tc == TC_BLOCKDATA:
                self.pos += 1
                self.take(self.u8(what), what)
            elif tc == TC_BLOCKDATALONG:
                self.pos += 1
                length = self.unpack(_I32, what)
                if length < 0:
                    raise JavaSerializationError("Negative block data length", start)
                self.take(length, what)
            else:
                self.value_object(f"an object in {what}")

    def value_object(self, what: str) -> bytes | None:
        """Read one object that must be a ``byte[]`` or null (the map's keys and values)."""
        start = self.pos
        tc = self.u8(what)
        if tc == TC_NULL:
            return None
        if tc == TC_REFERENCE:
            obj = self.reference(start)
            if not isinstance(obj, bytes):
                raise JavaSerializationError(f"Expected a byte[] in {what} but found a reference to "
                                             f"{_describe(obj)}", start)
            return obj
        if tc == TC_ARRAY:
            desc_start = self.pos
            desc = self.class_desc()
            if desc is None or desc.name != BYTE_ARRAY_CLASS:
                found = "no class" if desc is None else desc.name
                raise JavaSerializationError(f"Expected a byte[] in {what} but found an array of {found}", desc_start)
            if desc.suid != BYTE_ARRAY_SUID:
                raise JavaSerializationError(f"Class [B has serialVersionUID {desc.suid}, expected {BYTE_ARRAY_SUID}",
                                             desc_start)
            handle = self.new_handle(None)
            length = self.unpack(_I32, "an array length")
            if length < 0:
                raise JavaSerializationError(f"Negative array length {length}", self.pos - 4)
            value = self.take(length, "a byte array")
            self.handles[handle] = value
            return value
        if tc == TC_RESET:
            raise JavaSerializationError("Unexpected TC_RESET inside the map", start)
        if tc == TC_OBJECT:
            try:
                desc = self.class_desc()
            except JavaSerializationError:
                desc = None
            found = f"an object of class {desc.name}" if desc is not None else "an object"
            raise JavaSerializationError(f"Expected a byte[] in {what} but found {found}", start)
        if tc in (TC_STRING, TC_LONGSTRING):
            raise JavaSerializationError(f"Expected a byte[] in {what} but found a string", start)
        raise JavaSerializationError(f"Expected a byte[] in {what} but found {_tc_name(tc)}", start)

    def block_int(self, what: str) -> int:
        """Read an int written in block-data mode, crossing block-data segment boundaries if needed."""
        out = bytearray()
        while len(out) < 4:
            if self.block_remaining == 0:
                start = self.pos
                tc = self.u8(what)
                if tc == TC_BLOCKDATA:
                    self.block_remaining = self.u8(what)
                elif tc == TC_BLOCKDATALONG:
                    self.block_remaining = self.unpack(_I32, what)
                    if self.block_remaining < 0:
                        raise JavaSerializationError("Negative block data length", start)
                elif tc == TC_ENDBLOCKDATA:
                    raise TruncatedStreamError(f"Custom data of the map ends before {what}", start)
                else:
                    raise JavaSerializationError(f"Expected block data holding {what} but found {_tc_name(tc)}",
                                                 start)
                continue
            take = min(4 - len(out), self.block_remaining)
            out += self.take(take, what)
            self.block_remaining -= take
        return int.from_bytes(out, "big", signed=True)

    def skip_rest_of_annotation(self) -> None:
        """Skip whatever follows the entries up to the map's ``TC_ENDBLOCKDATA``."""
        if self.block_remaining:
            self.take(self.block_remaining, "block data")
            self.block_remaining = 0
        self.skip_annotation("the map's custom data")


def _describe(obj: object) -> str:
    if isinstance(obj, _ClassDesc):
        return f"the class descriptor of {obj.name}"
    if isinstance(obj, str):
        return "a string"
    if obj is None:
        return "an object still being read"
    return type(obj).__name__


def _decode_modified_utf8(raw: bytes, offset: int) -> str:
    """Decode Java's modified UTF-8 (``writeUTF``): NUL as ``C0 80``, supplementary characters as surrogates."""
    try:
        text = raw.replace(b"\xc0\x80", b"\x00").decode("utf-8", "surrogatepass")
        return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "surrogatepass")
    except UnicodeDecodeError as exc:
        raise JavaSerializationError(f"Invalid modified UTF-8 string: {exc.reason}", offset) from exc


_U16 = struct.Struct(">H")
_I16 = struct.Struct(">h")
_I32 = struct.Struct(">i")
_I64 = struct.Struct(">q")
_F32 = struct.Struct(">f")


def decode_hashmap(data: bytes) -> dict[bytes | None, bytes | None]:
    """Decode a Java-serialized ``java.util.HashMap<byte[], byte[]>``.

    Args:
        data: the serialized stream (the whole contents of a standalone offsets file).

    Returns:
        The map's entries in stream order. A key or value written as Java ``null`` is ``None``; if two entries
        have keys with the same bytes (possible in Java, whose ``byte[]`` keys compare by identity), the later
        one wins.

    Raises:
        TruncatedStreamError: the stream ends before the map does (an empty input included).
        JavaSerializationError: the bytes are not a serialized ``HashMap<byte[], byte[]>``; the message names
            the problem and the byte offset.
    """
    reader = _Reader(bytes(data))
    magic = reader.unpack(_U16, "the stream header")
    if magic != STREAM_MAGIC:
        raise JavaSerializationError(
            f"Not a Java serialization stream: magic number 0x{magic:04X}, expected 0x{STREAM_MAGIC:04X}", 0
        )
    version = reader.unpack(_U16, "the stream header")
    if version != STREAM_VERSION:
        raise JavaSerializationError(f"Unsupported serialization stream version {version}", 2)
    while reader.peek("the top-level object") == TC_RESET:
        reader.pos += 1
        reader.handles.clear()
    start = reader.pos
    tc = reader.u8("the top-level object")
    if tc != TC_OBJECT:
        raise JavaSerializationError(f"Expected a java.util.HashMap object but found {_tc_name(tc)}", start)
    desc_start = reader.pos
    desc = reader.class_desc()
    if desc is None:
        raise JavaSerializationError("Object has a null class descriptor", desc_start)
    if desc.name != HASHMAP_CLASS:
        raise JavaSerializationError(f"Expected a java.util.HashMap but found an object of class {desc.name}",
                                     desc_start)
    if desc.suid != HASHMAP_SUID:
        raise JavaSerializationError(
            f"Class java.util.HashMap has serialVersionUID {desc.suid}, expected {HASHMAP_SUID}", desc_start
        )
    if desc.super_desc is not None:
        raise JavaSerializationError(
            f"Class descriptor of java.util.HashMap has an unexpected serializable superclass "
            f"{desc.super_desc.name}", desc_start
        )
    if not desc.flags & SC_SERIALIZABLE or not desc.flags & SC_WRITE_METHOD or desc.flags & SC_EXTERNALIZABLE:
        raise JavaSerializationError(
            f"Class descriptor of java.util.HashMap has flags 0x{desc.flags:02X}, expected SC_SERIALIZABLE "
            "with SC_WRITE_METHOD", desc_start
        )
    reader.new_handle(None)  # the map object itself
    # Serializable fields (loadFactor and threshold), in descriptor order; their values do not matter here.
    for typecode, field_name in desc.fields:
        field_pos = reader.pos
        if typecode in _OBJECT_TYPECODES:
            raise JavaSerializationError(f"Unexpected object field {field_name} in java.util.HashMap", field_pos)
        raw = reader.take(_PRIMITIVE_SIZES[typecode], f"field {field_name}")
        if field_name == "loadFactor" and typecode == "F":
            (load_factor,) = _F32.unpack(raw)
            if not load_factor > 0:  # also rejects NaN, as HashMap.readObject does
                raise JavaSerializationError(f"Illegal load factor: {load_factor}", field_pos)
    reader.block_int("the map's capacity")  # HashMap.readObject ignores it too
    size_pos = reader.pos
    size = reader.block_int("the map's size")
    if size < 0:
        raise JavaSerializationError(f"Illegal mappings count: {size}", size_pos)
    if reader.block_remaining:
        # Java reads the entries with readObject, which first skips whatever is left of the block data.
        reader.take(reader.block_remaining, "block data")
        reader.block_remaining = 0
    result: dict[bytes | None, bytes | None] = {}
    for index in range(size):
        key = reader.value_object(f"the key of entry {index}")
        value = reader.value_object(f"the value of entry {index}")
        result[key] = value
    reader.skip_rest_of_annotation()
    return result


def hashmap_capacity(size: int) -> int:
    """The table size of a ``java.util.HashMap`` filled by ``size`` ``put`` calls (load factor 0.75)."""
    capacity = 16
    while size > capacity * 3 // 4 and capacity < 1 << 30:
        capacity <<= 1
    return capacity


def encode_hashmap(entries: Mapping[bytes | None, bytes | None]) -> bytes:
    """Serialize ``entries`` exactly as the JDK 17 serializes a ``HashMap<byte[], byte[]>`` holding them.

    Args:
        entries: keys and values as bytes; ``None`` stands for Java ``null``. Entries are written in the
            mapping's order (Java's order depends on identity hash codes, so any order is as valid).

    Returns:
        The serialized stream, which ``ObjectInputStream.readObject`` reads back as an equal map.
    """
    size = len(entries)
    if size:
        capacity = hashmap_capacity(size)
        threshold = capacity * 3 // 4 if capacity < 1 << 30 else 0x7FFFFFFF
    else:
        # A HashMap that never had an entry has no table yet: threshold 0, capacity reported as 16.
        capacity = 16
        threshold = 0
    out = bytearray()
    out += _U16.pack(STREAM_MAGIC) + _U16.pack(STREAM_VERSION)
    out.append(TC_OBJECT)
    out.append(TC_CLASSDESC)
    _write_utf(out, HASHMAP_CLASS)
    out += _I64.pack(HASHMAP_SUID)
    out.append(SC_SERIALIZABLE | SC_WRITE_METHOD)
    out += _I16.pack(2)
    out.append(ord("F"))
    _write_utf(out, "loadFactor")
    out.append(ord("I"))
    _write_utf(out, "threshold")
    out.append(TC_ENDBLOCKDATA)
    out.append(TC_NULL)  # no serializable superclass
    # Handles: 0 = HashMap class descriptor, 1 = the map, 2 = the [B class descriptor, 3... = the arrays.
    out += _F32.pack(0.75)
    out += _I32.pack(threshold)
    out.append(TC_BLOCKDATA)
    out.append(8)
    out += _I32.pack(capacity)
    out += _I32.pack(size)
    wrote_array_desc = False
    for key, value in entries.items():
        for item in (key, value):
            if item is None:
                out.append(TC_NULL)
                continue
            out.append(TC_ARRAY)
            if wrote_array_desc:
                out.append(TC_REFERENCE)
                out += _I32.pack(BASE_WIRE_HANDLE + 2)
            else:
                out.append(TC_CLASSDESC)
                _write_utf(out, BYTE_ARRAY_CLASS)
                out += _I64.pack(BYTE_ARRAY_SUID)
                out.append(SC_SERIALIZABLE)
                out += _I16.pack(0)
                out.append(TC_ENDBLOCKDATA)
                out.append(TC_NULL)
                wrote_array_desc = True
            out += _I32.pack(len(item))
            out += item
    out.append(TC_ENDBLOCKDATA)
    return bytes(out)


def _write_utf(out: bytearray, text: str) -> None:
    raw = text.encode("utf-8")
    out += _U16.pack(len(raw))
    out += raw

#!/usr/bin/env python3
"""Writes the libFuzzer dictionaries msgpack.dict and json.dict beside this file.

Run: python3 fuzz/dict/gen.py. Tokens cover cty type names, the fixed types'
attribute names (berth_fuzz::fixed_types), msgpack markers the decoder
branches on, and JSON forms of types and dynamic values. Without a
sanitizer libFuzzer gets no memcmp feedback, so these tokens are how it
learns the strings the decoders compare against.
"""
import os

HERE = os.path.dirname(os.path.abspath(__file__))

ATTRS = ["s", "n", "b", "d", "l", "st", "m", "t", "o", "ls", "ss", "mm", "k", "v", "x", "y", "a",
         "id", "ami", "instance_type", "count", "monitoring", "tags", "tags_all",
         "vpc_security_group_ids", "ports", "ebs_block_device", "root_block_device",
         "metadata_options", "timeouts", "user_data_args", "availability", "device_name",
         "volume_size", "volume_type", "encrypted", "delete_on_termination", "http_tokens",
         "hop_limit", "create", "delete"]
TYPE_JSON = ['"string"', '"number"', '"bool"', '"dynamic"', '["list",', '["set",', '["map",',
             '["object",{', '["tuple",[', '["list","string"]', '["set","number"]',
             '["map","dynamic"]', '["object",{}]', '["tuple",[]]', '["list","dynamic"]']
NUMBERS = ["1e30", "1e400", "-0.0", "0.1000000000000000000000000001", "18446744073709551616",
           "1e999999999", "9007199254740993"]


def esc(b):
    return "".join(chr(c) if 0x20 <= c < 0x7F and c not in (0x22, 0x5C) else "\\x%02x" % c for c in b)


def mp_str(s):
    b = s.encode()
    if len(b) < 32:
        return bytes([0xA0 | len(b)]) + b
    return b"\xd9" + bytes([len(b)]) + b


def main():
    mp = [("nil", b"\xc0"), ("true", b"\xc3"), ("false", b"\xc2"), ("unknown", b"\xd4\x00\x00"),
          ("ext8", b"\xc7"), ("ext12", b"\x0c"), ("fixext1", b"\xd4"), ("fixext4", b"\xd6"),
          ("u64", b"\xcf"), ("i64", b"\xd3"), ("f32", b"\xca"), ("f64", b"\xcb"), ("str8", b"\xd9"),
          ("bin8", b"\xc4"), ("array16", b"\xdc"), ("map16", b"\xde"), ("array32", b"\xdd"),
          ("map32", b"\xdf"), ("pair", b"\x92"),
          ("u64max", b"\xcf\xff\xff\xff\xff\xff\xff\xff\xff"),
          ("f64_half", b"\xcb\x3f\xe0\x00\x00\x00\x00\x00\x00"),
          ("f64_nan", b"\xcb\x7f\xf8\x00\x00\x00\x00\x00\x00"),
          ("refinements", b"\xc7\x03\x0c\x81\x01\xc2")]
    mp += [("attr_" + a, mp_str(a)) for a in ATTRS]
    mp += [("type%d" % i, mp_str(t)) for i, t in enumerate(TYPE_JSON)]
    mp += [("num%d" % i, mp_str(n)) for i, n in enumerate(NUMBERS)]
    with open(os.path.join(HERE, "msgpack.dict"), "w") as f:
        f.write("# libFuzzer dictionary for msgpack_decode (written by gen.py; edit there)\n")
        for name, b in mp:
            f.write('%s="%s"\n' % (name, esc(b)))

    js = ["{", "}", "[", "]", ":", ",", "null", "true", "false", '"true"', '"false"', '"type"',
          '"value"', '{"type":', ',"value":', '"1e3"', "0.1", "1.5e-7", '"\\u0000"',
          '"\\ud83d\\ude00"']
    js += NUMBERS + TYPE_JSON + ['"%s"' % a for a in ATTRS]
    with open(os.path.join(HERE, "json.dict"), "w") as f:
        f.write("# libFuzzer dictionary for json_decode and type_json (written by gen.py; edit there)\n")
        for i, t in enumerate(js):
            f.write('t%d="%s"\n' % (i, esc(t.encode())))


if __name__ == "__main__":
    main()

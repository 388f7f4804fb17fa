#!/usr/bin/env python3
# unicode_tables.py - writes src/unicode_tables.c, the Unicode tables the
# byte-level BPE pre-tokenizers need, from the Unicode Character Database.
#
# Input: UnicodeData.txt, by default /usr/share/unicode/UnicodeData.txt,
# which Debian's unicode-data package provides (apt-get install unicode-data).
# The Unicode version is read from the ReadMe.txt next to it when present.
#
# Usage (from the source directory):
#   python3 src/unicode_tables.py [UnicodeData.txt] > src/unicode_tables.c
#
# Python 3 standard library only.  The output is committed, so building
# nibble needs neither Python nor the data package.

import os
import re
import sys

MAX_CODEPOINT = 0x10FFFF

# General category (first letter, or the full two letters for C*) -> the
# class names of enum unicode_class in src/unicode.h.
CLASS_OF_CATEGORY = {
    "L": "UNICODE_LETTER",
    "N": "UNICODE_NUMBER",
    "P": "UNICODE_PUNCTUATION",
    "S": "UNICODE_SYMBOL",
    "M": "UNICODE_MARK",
    "Z": "UNICODE_SEPARATOR",
    "Cc": "UNICODE_OTHER",
    "Cf": "UNICODE_OTHER",
    "Cs": "UNICODE_OTHER",
    "Co": "UNICODE_OTHER",
    "Cn": "UNICODE_UNASSIGNED",
}

# White_Space (PropList.txt) is every Z* code point plus these controls; the
# test below checks the result against PropList.txt when it is available.
WHITESPACE_CONTROLS = [0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x85]

# The Llama 3 pre-tokenizer matches the contractions 's 't 're 've 'm 'll 'd
# case-insensitively.  nibble folds ASCII only; that is exact as long as no
# other code point lowercases to one of these letters, which is checked here.
CONTRACTION_LETTERS = "strevmld"


def category_class(cat):
    return CLASS_OF_CATEGORY.get(cat) or CLASS_OF_CATEGORY[cat[0]]


def read_unicode_data(path):
    """Returns (category per code point as a list, lowercase pairs)."""
    cats = ["Cn"] * (MAX_CODEPOINT + 1)
    lower = []
    first = None
    with open(path, encoding="utf-8") as f:
        for line in f:
            fields = line.rstrip("\n").split(";")
            if len(fields) < 15:
                continue
            cp = int(fields[0], 16)
            name, cat = fields[1], fields[2]
            if name.endswith(", First>"):
                first = cp
                continue
            if name.endswith(", Last>"):
                if first is None:
                    sys.exit("unicode_tables.py: range end without start at %04X" % cp)
                for c in range(first, cp + 1):
                    cats[c] = cat
                first = None
                continue
            cats[cp] = cat
            if fields[13]:
                lower.append((cp, int(fields[13], 16)))
    return cats, lower


def unicode_version(data_path):
    readme = os.path.join(os.path.dirname(data_path), "ReadMe.txt")
    try:
        with open(readme, encoding="utf-8", errors="replace") as f:
            m = re.search(r"Version (\d+\.\d+\.\d+) of the Unicode Standard", f.read())
            return m.group(1) if m else "unknown"
    except OSError:
        return "unknown"


def check_whitespace(data_path, spaces):
    """Compares the derived set with PropList.txt's White_Space, if present."""
    proplist = os.path.join(os.path.dirname(data_path), "PropList.txt")
    if not os.path.exists(proplist):
        return
    want = set()
    with open(proplist, encoding="utf-8") as f:
        for line in f:
            line = line.split("#")[0].strip()
            if not line or ";" not in line:
                continue
            cps, prop = [x.strip() for x in line.split(";")]
            if prop != "White_Space":
                continue
            lo, _, hi = cps.partition("..")
            want.update(range(int(lo, 16), int(hi or lo, 16) + 1))
    if want != set(spaces):
        sys.exit("unicode_tables.py: derived whitespace differs from PropList.txt White_Space")


def runs(values):
    """(first code point, value) at each change of value."""
    out = []
    prev = None
    for cp, v in enumerate(values):
        if v != prev:
            out.append((cp, v))
            prev = v
    return out


def spans(codepoints):
    """Sorted code points -> inclusive (first, last) spans."""
    out = []
    for cp in sorted(codepoints):
        if out and out[-1][1] + 1 == cp:
            out[-1][1] = cp
        else:
            out.append([cp, cp])
    return out


def main():
    path = sys.argv[1] if len(sys.argv) > 1 else "/usr/share/unicode/UnicodeData.txt"
    cats, lower = read_unicode_data(path)
    version = unicode_version(path)

    for cp, lc in lower:
        if cp >= 0x80 and lc < 0x80 and chr(lc) in CONTRACTION_LETTERS:
            sys.exit("unicode_tables.py: U+%04X lowercases to '%s'; ASCII-only folding of the "
                     "contractions is no longer exact" % (cp, chr(lc)))

    spaces = [cp for cp, c in enumerate(cats) if c[0] == "Z"] + WHITESPACE_CONTROLS
    check_whitespace(path, spaces)

    classes = [category_class(c) for c in cats]
    category_runs = runs(classes)
    space_spans = spans(spaces)

    w = sys.stdout.write
    w("/* unicode_tables.c - Unicode %s character classes and white space for the\n" % version)
    w(" * pre-tokenizers.  GENERATED by src/unicode_tables.py from UnicodeData.txt\n")
    w(" * (Debian: apt-get install unicode-data); do not edit by hand. */\n")
    w('#include "config.h"\n\n#include "unicode.h"\n\n')
    w("/* Each entry starts a run of code points of one class (first << 4 | class)\n")
    w(" * that lasts until the next entry; the last run ends at U+10FFFF. */\n")
    w("#define R(first, cls) UNICODE_RUN(first, UNICODE_##cls)\n")
    w("const uint32_t unicode_class_runs[] = {\n")
    for i in range(0, len(category_runs), 4):
        row = category_runs[i:i + 4]
        w("\t" + " ".join("R(0x%06X, %s)," % (cp, cls[len("UNICODE_"):]) for cp, cls in row) + "\n")
    w("};\n#undef R\n")
    w("const size_t unicode_class_runs_len = %d;\n\n" % len(category_runs))
    w("/* White_Space: Z* plus U+0009..U+000D and U+0085, as inclusive spans. */\n")
    w("const struct unicode_span unicode_whitespace[] = {\n")
    for lo, hi in space_spans:
        w("\t{ 0x%06X, 0x%06X },\n" % (lo, hi))
    w("};\n")
    w("const size_t unicode_whitespace_len = %d;\n" % len(space_spans))


if __name__ == "__main__":
    main()

"""Build `convex_shared/text_unidecode_1_30.json.gz`: Text::Unidecode 1.30 for U+0000..U+FFFE.

Convex slugs names with the Rust `slugify` 0.1.0 crate over `unidecode` 0.3.0, whose table is
Sean M. Burke's Text::Unidecode 1.30 (Perl, Artistic License or GPL-1+). Debian ships that exact
release as `libtext-unidecode-perl` 1.30-3, so this script takes the table from the Debian
package: it downloads the package with apt-get, unpacks it, asks Perl's own module for every
code point of the basic plane (surrogates give ""), and writes the strings as a gzip-compressed
JSON array. Run it on a Debian machine with perl: `python shared/tools/build_transliteration_table.py`.
"""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
import tempfile
from pathlib import Path

PACKAGE = "libtext-unidecode-perl=1.30-3"
OUT = Path(__file__).resolve().parent.parent / "convex_shared" / "text_unidecode_1_30.json.gz"
DUMP = r"""
use Text::Unidecode; use JSON::PP;
my @table;
for my $code (0 .. 0xFFFE) {
    push @table, ($code >= 0xD800 && $code <= 0xDFFF) ? "" : unidecode(chr $code);
}
print JSON::PP->new->ascii->encode(\@table);
"""


def main() -> None:
    with tempfile.TemporaryDirectory() as work:
        subprocess.run(["apt-get", "download", PACKAGE], cwd=work, check=True)
        deb = next(Path(work).glob("libtext-unidecode-perl_*.deb"))
        subprocess.run(["dpkg-deb", "-x", str(deb), "root"], cwd=work, check=True)
        dumped = subprocess.run(["perl", f"-I{work}/root/usr/share/perl5", "-e", DUMP],
                                check=True, capture_output=True).stdout
    table = json.loads(dumped)
    if len(table) != 0xFFFF or not all(entry.isascii() for entry in table):
        sys.exit(f"unexpected table: {len(table)} entries")
    OUT.write_bytes(gzip.compress(json.dumps(table, separators=(",", ":")).encode("ascii"), 9, mtime=0))
    print(f"wrote {OUT.name}: {len(table)} code points, {OUT.stat().st_size} bytes")


if __name__ == "__main__":
    main()

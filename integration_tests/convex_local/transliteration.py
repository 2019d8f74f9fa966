"""The Rust `unidecode` 0.3.0 crate's transliteration (what Convex's slug is built on).

That crate's table is Text::Unidecode 1.30 for U+0000..U+FFFE, and nothing beyond (so emoji
vanish). PyPI `text-unidecode` 1.3 carries an older Text::Unidecode table; the code points where
1.30 differs (C1 controls, spacing modifiers, Greek and Cherokee additions, box drawing, ...) are
listed here, taken from Text::Unidecode 1.30 itself (Debian's `libtext-unidecode-perl` 1.30-3).
"""

from __future__ import annotations

import functools

from text_unidecode import unidecode as _older_table

LAST_CODE_POINT = 0xFFFE

CHANGED_IN_1_30: dict[int, str] = {
    0x0080: 'EUR', 0x0082: ',', 0x0083: 'f', 0x0084: ',,', 0x0085: '...', 0x0086: '+', 0x0087: '++',
    0x0088: '^', 0x0089: '%0', 0x008A: 'S', 0x008B: '<', 0x008C: 'OE', 0x008E: 'Z', 0x0091: "'", 0x0092: "'",
    0x0093: '"', 0x0094: '"', 0x0095: '*', 0x0096: '-', 0x0097: '--', 0x0098: '~', 0x0099: 'tm', 0x009A: 's',
    0x009B: '>', 0x009C: 'oe', 0x009E: 'z', 0x009F: 'Y', 0x02E5: '5', 0x02E6: '4', 0x02E7: '3', 0x02E8: '2',
    0x02E9: '1', 0x02EA: '/', 0x02EB: '\\', 0x02EF: 'V', 0x02F0: '^', 0x02F1: '<', 0x02F2: '>', 0x02F3: 'o',
    0x02F4: '`', 0x02F5: '``', 0x02F6: '//', 0x02F7: '~', 0x02F8: ':', 0x02F9: '[-', 0x02FA: '-]',
    0x02FB: '[_', 0x02FC: '_]', 0x02FD: '_', 0x02FE: '_', 0x02FF: '<', 0x03F4: 'TH', 0x03F5: 'e', 0x03F6: 'e',
    0x03F7: 'Sh', 0x03F8: 'sh', 0x03F9: 's', 0x03FC: 'r/', 0x03FD: 'S', 0x03FE: 'S.', 0x03FF: 'S.',
    0x04FF: '[?]', 0x05FF: '[?]', 0x06FF: 'h', 0x07FF: '[?]', 0x09FF: '[?]', 0x0AF0: '.', 0x0AF1: 'R',
    0x0AF9: 'zh', 0x0AFF: '[?]', 0x0BFF: '[?]', 0x0CFF: '[?]', 0x0DFF: '[?]', 0x0EFF: '[?]', 0x0FFF: '[?]',
    0x10FF: '[?]', 0x11FF: '[?]', 0x13F5: 'MV', 0x13F8: 'ye', 0x13F9: 'yi', 0x13FA: 'yo', 0x13FB: 'yu',
    0x13FC: 'yv', 0x13FD: 'mv', 0x13FF: '[?]', 0x16FF: '[?]', 0x17FF: '[?]', 0x18FF: '[?]', 0x1EFA: 'LL',
    0x1EFB: 'll', 0x1EFC: 'V', 0x1EFD: 'v', 0x1EFE: 'Y', 0x1EFF: 'y', 0x1FFF: '[?]', 0x20FF: '[?]',
    0x21FF: '[?]', 0x22FF: '[?]', 0x23FF: '[?]', 0x24FF: '[?]', 0x25F4: 'O', 0x25F5: 'O', 0x25F6: 'O',
    0x25F7: 'O', 0x25F8: '/', 0x25F9: '\\', 0x25FA: '\\', 0x25FB: '#', 0x25FC: '#', 0x25FD: '#', 0x25FE: '#',
    0x25FF: '/', 0x26FF: '[?]', 0x27FF: '[?]', 0x2EFF: '[?]', 0x2FFF: '[?]', 0x30FF: 'koto', 0x31FF: '[?]',
    0x32FF: '[?]', 0x33FF: 'gal', 0x4DFF: '[?]', 0x9FFF: '[?]', 0xA4FF: '[?]', 0xD7FF: '[?]', 0xFAFF: '[?]',
    0xFDF0: '{Salla}', 0xFDF1: '{Qala}', 0xFDF2: 'Allah', 0xFDF3: 'Akbar', 0xFDF4: 'Mohammed', 0xFDF5: 'SL`M',
    0xFDF6: 'Rasul', 0xFDF7: '{Alayhi}', 0xFDF8: '{WaSallam}', 0xFDF9: '{Salla}',
    0xFDFA: '{Salla Llahu Alayhi WaSallam}', 0xFDFB: '{Jalla Jalalahu}', 0xFDFC: 'Rial ',
    0xFDFD: '{Bismillah Ar-Rahman Ar-Rahimi}', 0xFDFF: '[?]',
}


@functools.lru_cache(maxsize=65536)
def _char(code: int) -> str:
    if code > LAST_CODE_POINT or 0xD800 <= code <= 0xDFFF:
        return ""
    found = CHANGED_IN_1_30.get(code)
    return found if found is not None else _older_table(chr(code))


def unidecode(text: str) -> str:
    if text.isascii():
        return text
    return "".join(_char(ord(c)) for c in text)

// tables.js probes HuggingFace tokenizers (the Rust library, through its Node
// binding) one code point at a time and writes ../../unicode_tables.go.
//
// Why probe instead of using Go's unicode package: HF's BertNormalizer and
// BertPreTokenizer classify characters with the unicode_categories crate
// (an old Unicode version), lowercase with Rust's std (a newer one) and the
// byte-level pre-tokenizer matches \p{L} and \p{N} with Oniguruma (newer
// still). Go's unicode package is Unicode 15.0, so several hundred code
// points would be treated differently. The tables written here are exactly
// the classes HF uses, whatever Unicode versions its dependencies carry.
//
// Run: npm install && node tables.js   (takes about half a minute)
'use strict';
const fs = require('fs');
const path = require('path');
const hf = require('tokenizers');

const clean = hf.bertNormalizer({ cleanText: true, handleChineseChars: false, stripAccents: false, lowercase: false });
const chinese = hf.bertNormalizer({ cleanText: false, handleChineseChars: true, stripAccents: false, lowercase: false });
const strip = hf.bertNormalizer({ cleanText: false, handleChineseChars: false, stripAccents: true, lowercase: false });
const lower = hf.bertNormalizer({ cleanText: false, handleChineseChars: false, stripAccents: false, lowercase: true });
const bertPre = hf.bertPreTokenizer();
const byteLevel = hf.byteLevelPreTokenizer(false, true);

// White_Space has been stable since Unicode 6.3; the Go code hard-codes it,
// so the probe only checks that HF agrees.
const whiteSpace = new Set([0x9, 0xa, 0xb, 0xc, 0xd, 0x20, 0x85, 0xa0, 0x1680,
  0x2000, 0x2001, 0x2002, 0x2003, 0x2004, 0x2005, 0x2006, 0x2007, 0x2008, 0x2009, 0x200a,
  0x2028, 0x2029, 0x202f, 0x205f, 0x3000]);

const sets = { removed: [], punct: [], mark: [], chinese: [], letter: [], number: [], noDecomp: [] };
const lowerMap = []; // [from, to] for single code point results
const lowerMulti = []; // [from, [to...]]

for (let cp = 0; cp <= 0x10ffff; cp++) {
  if (cp >= 0xd800 && cp <= 0xdfff) continue;
  const ch = String.fromCodePoint(cp);

  const c = clean.normalizeString(ch);
  if (c === '') sets.removed.push(cp);
  else if (c === ' ' && cp !== 0x20 && !whiteSpace.has(cp)) throw new Error(`U+${cp.toString(16)}: HF cleans it to a space but it is not White_Space`);

  if (chinese.normalizeString(ch) !== ch) sets.chinese.push(cp);

  const s = strip.normalizeString(ch);
  if (s === '') sets.mark.push(cp);
  else if (s === ch && ch.normalize('NFD') !== ch) sets.noDecomp.push(cp);

  const l = [...lower.normalizeString(ch)].map((x) => x.codePointAt(0));
  if (l.length === 1 && l[0] !== cp) lowerMap.push([cp, l[0]]);
  else if (l.length > 1) lowerMulti.push([cp, l]);

  const pieces = bertPre.preTokenizeString('a' + ch + 'a').length;
  if (pieces === 3) sets.punct.push(cp);
  else if (pieces === 2 && !whiteSpace.has(cp)) throw new Error(`U+${cp.toString(16)}: HF splits on it but it is not White_Space`);

  // 'a'+ch stays one piece only when ch is a letter (" ?\p{L}+");
  // '1'+ch only when ch is a number (" ?\p{N}+").
  const isL = byteLevel.preTokenizeString('a' + ch).length === 1;
  const isN = byteLevel.preTokenizeString('1' + ch).length === 1;
  if (isL) sets.letter.push(cp);
  if (isN) sets.number.push(cp);
  // ch+'!' is two pieces for letters, numbers and \s, one for the rest.
  const isS = !isL && !isN && byteLevel.preTokenizeString(ch + '!').length === 2;
  if (isS !== whiteSpace.has(cp) && cp !== 0x20) throw new Error(`U+${cp.toString(16)}: byte-level \\s disagrees with White_Space`);
}

function ranges(cps) {
  const out = [];
  for (const cp of cps) {
    const last = out[out.length - 1];
    if (last && last[1] + 1 === cp) last[1] = cp;
    else out.push([cp, cp]);
  }
  return out;
}

const hex = (n) => '0x' + n.toString(16).padStart(4, '0');

function rangeTable(name, doc, cps) {
  const rs = ranges(cps);
  const r16 = rs.filter((r) => r[1] <= 0xffff);
  const r32 = rs.filter((r) => r[0] > 0xffff);
  const split = rs.find((r) => r[0] <= 0xffff && r[1] > 0xffff);
  if (split) {
    r16.push([split[0], 0xffff]);
    r32.unshift([0x10000, split[1]]);
    r16.sort((a, b) => a[0] - b[0]);
  }
  const latin = r16.filter((r) => r[1] <= 0xff).length;
  let s = `// ${name} ${doc}\nvar ${name} = &unicode.RangeTable{\n`;
  if (r16.length) {
    s += '\tR16: []unicode.Range16{\n';
    for (const [lo, hi] of r16) s += `\t\t{${hex(lo)}, ${hex(hi)}, 1},\n`;
    s += '\t},\n';
  }
  if (r32.length) {
    s += '\tR32: []unicode.Range32{\n';
    for (const [lo, hi] of r32) s += `\t\t{${hex(lo)}, ${hex(hi)}, 1},\n`;
    s += '\t},\n';
  }
  s += `\tLatinOffset: ${latin},\n}\n\n`;
  return s;
}

// Lowercase mappings as runs of code points with a common stride (1 or 2)
// and a common delta, the same compression Go's CaseRanges use.
function lowerRuns(pairs) {
  const out = [];
  for (const [from, to] of pairs) {
    const d = to - from;
    const last = out[out.length - 1];
    if (last && last.delta === d) {
      const step = from - last.hi;
      if ((last.lo === last.hi && (step === 1 || step === 2)) || step === last.stride) {
        last.stride = step;
        last.hi = from;
        continue;
      }
    }
    out.push({ lo: from, hi: from, stride: 1, delta: d });
  }
  return out;
}

let go = `// Code generated by testdata/gen/tables.js from HuggingFace tokenizers ${require('tokenizers/package.json').version}; DO NOT EDIT.

package tokenizer

import "unicode"

`;
go += rangeTable('hfRemoved', 'holds what BertNormalizer\'s clean_text drops: NUL, U+FFFD and the\n// "other" categories of the unicode_categories crate (\\t, \\n, \\r excepted).', sets.removed);
go += rangeTable('hfPunct', 'holds what BertPreTokenizer isolates as punctuation: ASCII punctuation\n// and the unicode_categories crate\'s P* categories.', sets.punct);
go += rangeTable('hfMark', 'holds what BertNormalizer\'s strip_accents drops after NFD: the\n// unicode_categories crate\'s Mn category.', sets.mark);
go += rangeTable('hfChinese', 'holds the code points BertNormalizer surrounds with spaces\n// (its CJK blocks, which skip U+2B820..U+2B91F).', sets.chinese);
go += rangeTable('hfLetter', 'holds \\p{L} as the byte-level pre-tokenizer\'s regex engine sees it.', sets.letter);
go += rangeTable('hfNumber', 'holds \\p{N} as the byte-level pre-tokenizer\'s regex engine sees it.', sets.number);
go += rangeTable('hfNoDecompose', 'holds code points that have a canonical decomposition in current\n// Unicode but that HF\'s NFD leaves alone (its tables predate them).', sets.noDecomp);

go += '// hfLower lists the single code point lowercase mappings of Rust\'s\n// char::to_lowercase: code points lo, lo+stride, ..., hi map to c+delta.\nvar hfLower = []lowerRun{\n';
for (const r of lowerRuns(lowerMap)) go += `\t{${hex(r.lo)}, ${hex(r.hi)}, ${r.stride}, ${r.delta}},\n`;
go += '}\n\n';
go += '// hfLowerMulti lists the lowercase mappings that produce more than one code point.\nvar hfLowerMulti = map[rune]string{\n';
for (const [from, to] of lowerMulti) go += `\t${hex(from)}: "${to.map((c) => '\\u' + c.toString(16).padStart(4, '0')).join('')}",\n`;
go += '}\n';

const out = path.resolve(__dirname, '../../unicode_tables.go');
fs.writeFileSync(out, go);
console.log(`wrote ${out}: removed ${sets.removed.length}, punct ${sets.punct.length}, mark ${sets.mark.length}, ` +
  `letter ${sets.letter.length}, number ${sets.number.length}, lower ${lowerMap.length}+${lowerMulti.length}, noDecomp ${sets.noDecomp.length}`);

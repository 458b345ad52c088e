// gen.js writes the tokenizer golden files ../golden/*.jsonl with
// HuggingFace's own implementation (the Rust tokenizers library through its
// Node binding), so the Go tests compare against HF and never against Go.
//
// Run from this folder: npm install && node gen.js
// It reads the tokenizer files in ../ and GLUE sentences in the repository's glue/data
// (override with GLUE=/path/to/glue).
'use strict';
const fs = require('fs');
const path = require('path');
const { Tokenizer } = require('tokenizers');

const testdata = path.resolve(__dirname, '..');
const glue = process.env.GLUE || path.resolve(__dirname, '../../../glue/data');

// ---- tokenizers -----------------------------------------------------------

const bertSpecial = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'];

function addedToken(id, content, lstrip) {
  return { id, content, single_word: false, lstrip: !!lstrip, rstrip: false, normalized: false, special: true };
}

// readLines splits a vocabulary file the way HF's WordPiece::read_file does.
function readLines(file) {
  const lines = fs.readFileSync(file, 'utf8').split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return lines.map((l) => l.trimEnd());
}

// bertJSON assembles a tokenizer.json for a WordPiece vocabulary in the
// format HF's BertTokenizerFast saves (tokenizers' documented serialisation).
function bertJSON(vocabFile, lowercase) {
  const vocab = {};
  readLines(vocabFile).forEach((tok, i) => { vocab[tok] = i; });
  const cls = vocab['[CLS]'];
  const sep = vocab['[SEP]'];
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: bertSpecial.map((t) => addedToken(vocab[t], t)).sort((a, b) => a.id - b.id),
    normalizer: { type: 'BertNormalizer', clean_text: true, handle_chinese_chars: true, strip_accents: null, lowercase },
    pre_tokenizer: { type: 'BertPreTokenizer' },
    post_processor: {
      type: 'TemplateProcessing',
      single: [{ SpecialToken: { id: '[CLS]', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: '[SEP]', type_id: 0 } }],
      pair: [{ SpecialToken: { id: '[CLS]', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: '[SEP]', type_id: 0 } },
        { Sequence: { id: 'B', type_id: 1 } }, { SpecialToken: { id: '[SEP]', type_id: 1 } }],
      special_tokens: {
        '[CLS]': { id: '[CLS]', ids: [cls], tokens: ['[CLS]'] },
        '[SEP]': { id: '[SEP]', ids: [sep], tokens: ['[SEP]'] },
      },
    },
    decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
    model: { type: 'WordPiece', unk_token: '[UNK]', continuing_subword_prefix: '##', max_input_chars_per_word: 100, vocab },
  };
}

// robertaJSON assembles a tokenizer.json for GPT-2 style vocab.json +
// merges.txt the way HF's RobertaTokenizerFast saves it: no normalizer,
// ByteLevel pre-tokenizer without prefix space, <mask> stripping the space
// on its left.
function robertaJSON(vocabFile, mergesFile) {
  const vocab = JSON.parse(fs.readFileSync(vocabFile, 'utf8'));
  const merges = fs.readFileSync(mergesFile, 'utf8').split('\n')
    .filter((l, i) => l.length > 0 && !(i === 0 && l.startsWith('#version')));
  const special = ['<s>', '<pad>', '</s>', '<unk>', '<mask>'];
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: special.map((t) => addedToken(vocab[t], t, t === '<mask>')),
    normalizer: null,
    pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
    post_processor: { type: 'RobertaProcessing', sep: ['</s>', vocab['</s>']], cls: ['<s>', vocab['<s>']], trim_offsets: true, add_prefix_space: false },
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: { type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: '', end_of_word_suffix: '', fuse_unk: false, byte_fallback: false, vocab, merges },
  };
}

function fromJSON(obj) {
  return Tokenizer.fromString(JSON.stringify(obj));
}

// ---- inputs ---------------------------------------------------------------

function tsv(rel) {
  const text = fs.readFileSync(path.join(glue, rel), 'utf8').replace(/^\uFEFF/, '');
  return text.split('\n').filter((l) => l.length > 0).map((l) => l.replace(/\r$/, '').split('\t'));
}

// every picks n rows spread evenly over rows, so the selection is stable.
function every(rows, n) {
  const out = [];
  const step = rows.length / n;
  for (let i = 0; i < n && Math.floor(i * step) < rows.length; i++) out.push(rows[Math.floor(i * step)]);
  return out;
}

function glueCases() {
  const cases = [];
  const single = (text) => cases.push({ input: text, max_length: 128 });
  const pair = (a, b) => cases.push({ input: a, pair: b, max_length: 128 });
  every(tsv('SST-2/dev.tsv').slice(1), 90).forEach((r) => single(r[0]));
  every(tsv('SST-2/train.tsv').slice(1), 60).forEach((r) => single(r[0]));
  every(tsv('CoLA/dev.tsv'), 50).forEach((r) => single(r[3]));
  every(tsv('CoLA/train.tsv'), 30).forEach((r) => single(r[3]));
  every(tsv('MRPC/dev.tsv').slice(1), 40).forEach((r) => pair(r[3], r[4]));
  every(tsv('MRPC/train.tsv').slice(1), 20).forEach((r) => pair(r[3], r[4]));
  every(tsv('STS-B/dev.tsv').slice(1), 40).forEach((r) => pair(r[7], r[8]));
  every(tsv('RTE/dev.tsv').slice(1), 30).forEach((r) => pair(r[1], r[2]));
  every(tsv('RTE/train.tsv').slice(1), 20).forEach((r) => pair(r[1], r[2]));
  every(tsv('WNLI/dev.tsv').slice(1), 20).forEach((r) => pair(r[1], r[2]));
  // Truncation on real text: short limits, odd and even.
  every(tsv('RTE/dev.tsv').slice(1), 12).forEach((r, i) => cases.push({ input: r[1], pair: r[2], max_length: [8, 9, 16, 17, 32, 64][i % 6] }));
  every(tsv('SST-2/dev.tsv').slice(1), 8).forEach((r, i) => cases.push({ input: r[0], max_length: [3, 4, 5, 8][i % 4] }));
  return cases;
}

const hard = [
  '', ' ', '   ', '\t\t', '\n', 'Hello, world!', 'hello world', 'HELLO WORLD',
  'Héllo Wörld — naïve café, résumé, Ångström, coöperate, São Paulo, Zürich',
  'ÉCOLE ÉLÉMENTAIRE à Montréal', 'İstanbul\'da IĞDIR ıi İi', 'Σίσυφος ΟΔΥΣΣΕΥΣ σς', 'Straße STRASSE ß ẞ',
  'e\u0301 a\u0300 n\u0303 o\u0308 A\u030A c\u0327 (combining marks)', 'Z̤͔ͧ̑̓ä͖̭̈̇lͮ̒ͫǫ̗̻͊ ̌t̲̅e̥̳x̝̎t', 'a\u0315\u0300b \u0301start',
  '中文分词测试：我爱北京天安门。', '日本語のテキストとカタカナ、ひらがな。', '한국어 문장입니다.', '混合English和中文mixed text',
  '𠀀𠀁 𪜀 𫝀 𫠠 𬺰 𮯠 𰀀', '\u2F00\u2E80\u3005\u3007\u30FC\uF900\uFA6D', 'ＡＢＣ１２３！ｈｅｌｌｏ',
  'I love it 😀😃😄 👍🏽 👨‍👩‍👧‍👦 🇺🇸 ❤️ 🥰 🫠 🧑‍💻', '😀', 'emoji🙂inside🚀words', '☺︎ ☺️ \uFE0F\uFE0E',
  'a\u0000b\u0001c\u0007d\u001Fe\u007Ff\u0085g\u009Fh', '\u0000\u0000', 'bell\u0007 and escape\u001B[0m',
  'tab\tseparated\tvalues', 'line\nbreak\r\nwindows\rmac', 'vertical\u000Btab form\u000Cfeed',
  'zero\u200Bwidth\u200Cnon\u200Djoiner\uFEFFbom\u2060wj\u00ADsoft', '\u200B\u200B\u200B', 'rtl\u200Fmark\u202Eoverride\u202C',
  '\uFFFDreplacement\uFFFD char', 'private\uE000use\uF8FF', 'noncharacter\uFDD0\uFFFE',
  'a'.repeat(99), 'a'.repeat(100), 'a'.repeat(101), 'é'.repeat(100), 'é'.repeat(101),
  'supercalifragilisticexpialidocious'.repeat(4), 'x'.repeat(250) + ' end', 'https://example.com/' + 'a'.repeat(120),
  'Pneumonoultramicroscopicsilicovolcanoconiosis antidisestablishmentarianism',
  'a    b', '  leading', 'trailing   ', ' \t \t mixed \t ', 'a\u00A0b\u2003c\u3000d\u2028e\u2029f\u1680g\u202Fh',
  'many          spaces          here', 'a \n b \n\n c', ' ', '  x  ', 'x  ', '  !', 'a  1  !  b',
  "I'm can't won't you're we've they'll he'd She'S IT'LL y'all 'tis rock'n'roll", 'don’t it’s “quoted”',
  "'s 't 're 've 'm 'll 'd", "''s '''", "O'Neil's dog's", "I've'd",
  'https://www.example.com/path/to/page?query=1&b=two#frag', 'email me at john.doe+tag@example.co.uk', 'www.google.com',
  'C:\\Users\\name\\file.txt', 'ftp://user:pass@host:21/dir', '@huggingface #NLProc $AAPL',
  '3.14159 1,000,000 -42 +7 1e-10 ½ ² ٣ ४ 2023-10-05 12:30pm $19.99 €5 £3 ¥100 50% #1',
  '0 00 000 0000 12345678901234567890', '1st 2nd 3rd 4th 21st', 'Ⅻ ⅻ ① ⑳ ¼ ¾', '٠١٢٣٤٥٦٧٨٩ ०१२३ ๑๒๓',
  'Wait... what?!?! (yes) [no] {maybe} <tag> "quoted" \'single\' «guillemets» „German“ — – - ‘’ “” • … ¡¿',
  'a$b^c`d|e~f+g=h<i>j', '!!!!!!!!!!', '......', '----====----', '***bold*** __init__ ~~strike~~',
  '[CLS] hello [SEP] [MASK] [UNK] [PAD]', '<s> hi </s> <mask> <pad> <unk>', 'Hello <mask>!', 'The capital of France is [MASK].',
  'x[MASK]y [mask] [MASK][MASK]', '<mask><mask>  <mask>', 'word<s>word</s>',
  '∑∫√∞≠≤≥ ±×÷ → ⇒ ♥ ★ © ® ™ °C', '&amp; &lt; &#39; &nbsp;', 'iPhone eBay McDonald\'s NASA\'s',
  '## ##a a##b ##', 'ﬁ ﬂ ﬀ ﬃ', 'K Å Ω µ ſ', 'ǅ ǈ ǋ ǲ', 'Ⓐ ⓐ 🄰',
  'مرحبا بالعالم', 'שלום עולם', 'नमस्ते दुनिया', 'สวัสดีชาวโลก', 'Привет, МИР!', 'Բարեւ աշխարհ', 'გამარჯობა', 'ሰላም ዓለም',
  'Tiếng Việt có dấu', 'ĄĆĘŁŃÓŚŹŻ ąćęłńóśźż', 'ÆØÅ æøå Œœ', 'Ǆ ǆ ǉ',
  'def f(x): return x**2  # comment', 'if (a && b || !c) { return; }', '{"key": [1, 2, 3], "k2": null}',
  'The quick brown fox jumps over the lazy dog.', 'THE QUICK BROWN FOX', 'tHe QuIcK bRoWn FoX',
  'unaffable unbelievable uncharacteristically', 'naïveté façade jalapeño piñata',
  'I\tlove\t\tTSV', '\u3000全角スペース\u3000', 'ｶﾀｶﾅ ﾊﾝｶｸ', '\u00A0\u00A0nbsp', 'end with space ',
];

const hardPairs = [
  ['How old are you?', 'I am 6 years old.'], ['', 'only the second'], ['only the first', ''], ['', ''],
  ['Héllo!', 'Wörld?'], ['中文', '日本語'], ['😀', '🥰'], ['[MASK] is here', 'and <mask> there'],
];

// pairs of token-count shapes for longest_first: equal, first longer, second
// longer, both over the limit, odd limits.
const truncPairs = [];
{
  const words = (n, w) => Array.from({ length: n }, (_, i) => `${w}${i % 10}`).join(' ');
  const shapes = [[10, 10], [20, 3], [3, 20], [30, 30], [7, 8], [1, 40], [40, 1], [15, 16], [0, 30], [30, 0]];
  const limits = [5, 6, 7, 8, 9, 10, 16, 25];
  shapes.forEach(([a, b], i) => limits.forEach((m, j) => {
    if ((i + j) % 2 === 0) truncPairs.push({ input: words(a, 'alpha'), pair: words(b, 'beta'), max_length: m });
  }));
  // HF stops tokenising a text at the first word boundary at or past
  // max_length before it truncates, so words of many pieces shift the split.
  const pieces = (n) => Array.from({ length: n }, () => 'xqzvkj').join(' ');
  [[10, 6], [10, 11], [10, 12], [2, 30], [30, 2], [1, 1]].forEach(([a, b]) => [4, 6, 9, 12, 15].forEach((m) =>
    truncPairs.push({ input: pieces(a), pair: words(b, 'b'), max_length: m })));
  ['one two three four five six seven eight nine ten', 'supercalifragilisticexpialidocious'].forEach((s) =>
    [2, 3, 4, 5, 6].forEach((m) => truncPairs.push({ input: s, max_length: m })));
}

// ---- unicode sweeps -------------------------------------------------------

// Ranges whose classification depends on the Unicode version a library
// carries (found by comparing HF with Go's Unicode 15.0 tables): letters,
// numbers, marks, punctuation and case pairs added in Unicode 10 to 16.
const versionSensitive = [
  [0x890, 0x891], [0x8e2, 0x8e2], [0x110cd, 0x110cd], [0x13430, 0x1343f], [0x7fd, 0x7fd], [0x898, 0x89f], [0x8ca, 0x8e1],
  [0x9fe, 0x9fe], [0xafa, 0xaff], [0x1734, 0x1734], [0x1abf, 0x1ace], [0x1df6, 0x1dfb], [0x11938, 0x11943], [0x1e944, 0x1e94a],
  [0x1c89, 0x1c8a], [0xa7c0, 0xa7dc], [0x10d40, 0x10d8f], [0x16ea0, 0x16ed3], [0x61d, 0x61d], [0x2e43, 0x2e5d],
  [0x166d, 0x166d], [0x1b7d, 0x1b7e], [0x11ef7, 0x11ef8], [0x105c0, 0x105f3], [0x10ec2, 0x10ec4], [0x11380, 0x113d3],
  [0x11bc0, 0x11bf9], [0x16100, 0x16139], [0x16d40, 0x16d79], [0x18cff, 0x18cff], [0x1e5d0, 0x1e5fa], [0x116d0, 0x116e3],
  [0x1ccf0, 0x1ccf9], [0x105c9, 0x105c9], [0x16121, 0x16128], [0x16d68, 0x16d6a],
];
const sampledSensitive = [[0x13460, 0x143fa, 37], [0x2ebf0, 0x2ee5d, 29], [0x2b820, 0x2b91f, 13]];

function sweepCodePoints() {
  const want = new Set();
  const cats = /[\p{P}\p{S}\p{M}\p{Cc}\p{Cf}\p{Z}\p{Lu}\p{Lt}\p{N}\p{Lm}]/u;
  for (let cp = 0x80; cp <= 0x10ffff; cp++) {
    if (cp >= 0xd800 && cp <= 0xdfff) continue;
    const ch = String.fromCodePoint(cp);
    if (cats.test(ch)) {
      // Keep every mark, punctuation, control, format and space character
      // and every case pair; thin out the large symbol and number classes.
      if (/[\p{P}\p{M}\p{Cc}\p{Cf}\p{Z}\p{Lu}\p{Lt}]/u.test(ch) || cp % 5 === 0) want.add(cp);
    } else if (cp % 211 === 0) {
      want.add(cp); // a thin sample of everything else, unassigned included
    }
  }
  for (const [lo, hi] of versionSensitive) for (let cp = lo; cp <= hi; cp++) want.add(cp);
  for (const [lo, hi, step] of sampledSensitive) for (let cp = lo; cp <= hi; cp += step) want.add(cp);
  return [...want].sort((a, b) => a - b);
}

// bertSweep puts each code point after an "x" so that one word shows
// whether it was dropped, split off as punctuation, stripped or lowercased.
function bertSweep() {
  const cps = sweepCodePoints();
  const out = [];
  for (let i = 0; i < cps.length; i += 60) {
    out.push({ input: cps.slice(i, i + 60).map((cp) => 'x' + String.fromCodePoint(cp)).join(' '), max_length: 512, sweep: true });
  }
  return out;
}

// bpeSweep puts each code point next to a letter, a digit and a space so
// that the pre-tokeniser's \p{L} / \p{N} / \s classes show in the pieces.
function bpeSweep() {
  const cps = sweepCodePoints().filter((cp, i) => i % 3 === 0 ||
    versionSensitive.some(([lo, hi]) => cp >= lo && cp <= hi));
  const out = [];
  for (let i = 0; i < cps.length; i += 25) {
    out.push({ input: cps.slice(i, i + 25).map((cp) => { const c = String.fromCodePoint(cp); return `a${c}1${c} ${c}`; }).join(''), max_length: 512, sweep: true });
  }
  return out;
}

// ---- goldens --------------------------------------------------------------

async function golden(tok, cases, file) {
  tok.disablePadding();
  const lines = [];
  for (const c of cases) {
    const hasPair = Object.prototype.hasOwnProperty.call(c, 'pair');
    tok.setTruncation(c.max_length, { strategy: 'LongestFirst' });
    const e = await tok.encode(c.input, hasPair ? c.pair : null);
    const g = { input: c.input };
    if (hasPair) g.pair = c.pair;
    g.max_length = c.max_length;
    g.tokens = e.getTokens();
    g.ids = e.getIds();
    g.token_type_ids = e.getTypeIds();
    g.attention_mask = e.getAttentionMask();
    if (!hasPair) {
      // The pieces without special tokens and without truncation, for
      // Tokenize and IDs.
      tok.disableTruncation();
      const p = await tok.encode(c.input, null, { addSpecialTokens: false });
      g.pieces = p.getTokens();
      g.piece_ids = p.getIds();
    }
    lines.push(JSON.stringify(g));
  }
  fs.writeFileSync(path.join(testdata, 'golden', file), lines.join('\n') + '\n');
  console.log(`${file}: ${lines.length} lines`);
}

async function main() {
  const common = [
    ...glueCases(),
    ...hard.map((input) => ({ input, max_length: 128 })),
    ...hardPairs.map(([input, pair]) => ({ input, pair, max_length: 128 })),
    ...truncPairs,
  ];

  // bert-base-uncased: its own tokenizer.json. This copy has padding and
  // truncation presets (128, fixed padding); HF's tokenizer classes override
  // them per call, so switch them off and set truncation per line instead.
  const uncased = Tokenizer.fromFile(path.join(testdata, 'bert-base-uncased', 'tokenizer.json'));
  await golden(uncased, [...common, ...bertSweep()], 'bert-base-uncased.jsonl');

  const cased = fromJSON(bertJSON(path.join(testdata, 'bert-base-cased', 'vocab.txt'), false));
  await golden(cased, [...common, ...bertSweep()], 'bert-base-cased.jsonl');

  const roberta = fromJSON(robertaJSON(path.join(testdata, 'roberta-base', 'vocab.json'), path.join(testdata, 'roberta-base', 'merges.txt')));
  await golden(roberta, [...common, ...bpeSweep()], 'roberta-base.jsonl');
}

main().catch((err) => { console.error(err); process.exit(1); });

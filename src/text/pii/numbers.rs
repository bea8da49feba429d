//! Digit-based personal data: phone numbers, My Numbers, card numbers and bank accounts.
//!
//! The folded text is cut into digit groups (maximal ASCII digit runs). Groups separated by
//! at most three separator characters (`-`, `.`, space, `ー`, parentheses) form a chain. A
//! candidate is a run of whole groups of one chain: it can never be part of a longer digit run,
//! and it may only start or end inside a chain at a gap holding a space (a hyphen or dot gap
//! means the digits go on, as in `03-1234-5678-9`). At each group the kinds are tried in the
//! order card > My Number > phone > bank account, so one digit run is claimed by one kind.

use std::ops::Range;

use super::PiiKind;

/// A personal value found in folded text (range in folded bytes).
pub(crate) struct Found {
    pub kind: PiiKind,
    pub range: Range<usize>,
    pub normalized: String,
}

/// Words that make a 6–8 digit number a bank account when found shortly before it.
#[rustfmt::skip]
pub(crate) const BANK_CONTEXT: [&str; 12] = [
    "口座", "普通", "当座", "貯蓄", "支店", "銀行", "信金", "信用金庫", "ゆうちょ", "郵貯", "振込先",
    "振り込み先",
];
/// Words right before a number that make it an amount of money, not an account.
#[rustfmt::skip]
const AMOUNT_WORDS: [&str; 14] = [
    "年収", "月収", "給料", "給与", "残高", "金額", "資産", "借金", "価格", "利益", "売上", "負債", "手数料",
    "預金額",
];
/// How many characters before a number are searched for [`BANK_CONTEXT`].
const BANK_WINDOW: usize = 25;

/// Letter words that may stand right before a number (`TEL0312345678`).
#[rustfmt::skip]
const LETTER_PREFIXES: [&str; 9] = [
    "tel", "fax", "phone", "mobile", "no", "card", "num", "number", "mynumber",
];

/// Labels that make an unseparated 0-leading number something else than a phone number.
#[rustfmt::skip]
const NOT_PHONE_CONTEXT: [&str; 20] = [
    "注文", "会員", "顧客", "お客様", "伝票", "管理", "受付", "予約", "整理", "追跡",
    "問い合わせ番号", "商品", "品番", "型番", "製造", "シリアル", "口座", "JAN", "ISBN", "レシート",
];

/// Well-known test card numbers (Luhn-valid but never real).
#[rustfmt::skip]
const TEST_CARDS: [&str; 20] = [
    "4111111111111111", "4242424242424242", "4012888888881881", "4000056655665556",
    "4000000000000002", "4222222222222", "5555555555554444", "5105105105105100",
    "5200828282828210", "2223003122003222", "378282246310005", "371449635398431",
    "378734493671000", "3530111333300000", "3566002020360505", "6011111111111117",
    "6011000990139424", "30569309025904", "38520000023237", "6200000000000005",
];

/// A digit group: byte range of an ASCII digit run in the folded text.
#[derive(Clone, Copy)]
struct Group {
    start: usize,
    end: usize,
}

/// Finds every digit-based value in folded text, sorted and non-overlapping.
pub(crate) fn detect(t: &str) -> Vec<Found> {
    let groups = digit_groups(t);
    let mut out = Vec::new();
    let mut i = 0;
    while i < groups.len() {
        let mut j = i + 1;
        while j < groups.len() && linkable(&t[groups[j - 1].end..groups[j].start]) {
            j += 1;
        }
        Chain {
            t,
            gs: &groups[i..j],
        }
        .scan(&mut out);
        i = j;
    }
    out
}

fn digit_groups(t: &str) -> Vec<Group> {
    let b = t.as_bytes();
    let mut groups = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i].is_ascii_digit() {
            let start = i;
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
            groups.push(Group { start, end: i });
        } else {
            i += 1;
        }
    }
    groups
}

/// Whether a gap between two digit groups keeps them in one chain.
pub(crate) fn is_num_sep(c: char) -> bool {
    matches!(c, '-' | '.' | ' ' | 'ー' | '(' | ')')
}

fn linkable(gap: &str) -> bool {
    let n = gap.chars().count();
    (1..=3).contains(&n) && gap.chars().all(is_num_sep)
}

struct Chain<'a> {
    t: &'a str,
    gs: &'a [Group],
}

impl Chain<'_> {
    fn digits(&self, i: usize) -> &str {
        &self.t[self.gs[i].start..self.gs[i].end]
    }

    fn gap(&self, i: usize) -> &str {
        &self.t[self.gs[i].end..self.gs[i + 1].start]
    }

    /// Whether a candidate may begin at group `a` / end before group `b` inside the chain.
    fn splittable(&self, i: usize) -> bool {
        self.gap(i).contains(' ') && !(self.digits(i).len() == 4 && self.digits(i + 1).len() == 4)
    }

    fn scan(&self, out: &mut Vec<Found>) {
        let n = self.gs.len();
        let mut a = 0;
        while a < n {
            if a > 0 && !self.splittable(a - 1) {
                a += 1;
                continue;
            }
            match self.try_at(a) {
                Some((b, found)) => {
                    out.push(found);
                    a = b;
                }
                None => a += 1,
            }
        }
    }

    fn try_at(&self, a: usize) -> Option<(usize, Found)> {
        let n = self.gs.len();
        let last = n.min(a + 6);
        for kind in [
            PiiKind::CreditCard,
            PiiKind::MyNumber,
            PiiKind::Phone,
            PiiKind::BankAccount,
        ] {
            for b in (a + 1..=last).rev() {
                let digits: usize = self.gs[a..b].iter().map(|g| g.end - g.start).sum();
                let plausible = match kind {
                    PiiKind::CreditCard => (13..=19).contains(&digits),
                    PiiKind::MyNumber => digits == 12,
                    PiiKind::Phone => (10..=13).contains(&digits),
                    _ => (6..=13).contains(&digits),
                };
                if !plausible || (b < n && !self.splittable(b - 1)) {
                    continue;
                }
                let got = match kind {
                    PiiKind::CreditCard => self.card(a, b),
                    PiiKind::MyNumber => self.my_number(a, b),
                    PiiKind::Phone => self.phone(a, b),
                    _ => self.bank(a, b),
                };
                if let Some((start, normalized)) = got {
                    let range = start..self.gs[b - 1].end;
                    if self.context_ok(&range) {
                        return Some((
                            b,
                            Found {
                                kind,
                                range,
                                normalized,
                            },
                        ));
                    }
                }
            }
        }
        None
    }

    fn concat(&self, a: usize, b: usize) -> String {
        (a..b).map(|i| self.digits(i)).collect()
    }

    fn lens(&self, a: usize, b: usize) -> Vec<usize> {
        (a..b).map(|i| self.digits(i).len()).collect()
    }

    /// All gaps between groups `a..b` are the same single space or hyphen.
    fn uniform_gaps(&self, a: usize, b: usize) -> bool {
        let first = if b - a > 1 { self.gap(a) } else { " " };
        (first == " " || first == "-") && (a..b - 1).all(|i| self.gap(i) == first)
    }

    fn card(&self, a: usize, b: usize) -> Option<(usize, String)> {
        let lens = self.lens(a, b);
        let shape_ok = lens.len() == 1
            || (lens.len() >= 4
                && lens[..lens.len() - 1].iter().all(|&l| l == 4)
                && (1..=4).contains(&lens[lens.len() - 1]))
            || lens == [4, 6, 5]
            || lens == [4, 6, 4];
        if !shape_ok || !self.uniform_gaps(a, b) {
            return None;
        }
        let d = self.concat(a, b);
        card_ok(&d).then_some((self.gs[a].start, d))
    }

    fn my_number(&self, a: usize, b: usize) -> Option<(usize, String)> {
        let lens = self.lens(a, b);
        if !(lens == [12] || lens == [4, 4, 4]) || !self.uniform_gaps(a, b) {
            return None;
        }
        let d = self.concat(a, b);
        my_number_ok(&d).then_some((self.gs[a].start, d))
    }

    fn phone(&self, a: usize, b: usize) -> Option<(usize, String)> {
        let plus = self.t[..self.gs[a].start].ends_with('+');
        let first = self.digits(a);
        if plus && first.starts_with("81") {
            // +81 90 2345 6789, +81-3-1234-5678, +81(0)90-…, +819023456789
            let mut nat = first[2..].to_string();
            let mut i = a + 1;
            if nat.is_empty() && i < b && self.digits(i) == "0" {
                i += 1;
            }
            let groups = b - i + usize::from(!nat.is_empty());
            if groups == 0 || groups > 3 || (groups > 1 && self.digits(b - 1).len() != 4) {
                return None;
            }
            nat.extend((i..b).map(|k| self.digits(k)));
            let nat = nat.strip_prefix('0').unwrap_or(&nat);
            let d = format!("0{nat}");
            return phone_ok(&d).then_some((self.gs[a].start - 1, d));
        }
        if plus || !first.starts_with('0') {
            return None;
        }
        let lens = self.lens(a, b);
        let shape_ok = lens.len() == 1
            || (lens.len() == 3 && (2..=5).contains(&lens[0]) && lens[1] <= 4 && lens[2] == 4);
        if !shape_ok {
            return None;
        }
        let d = self.concat(a, b);
        if lens.len() == 1 && self.not_phone_context(self.gs[a].start) {
            return None;
        }
        // (03)1234-5678: the range takes the opening parenthesis.
        let start = self.gs[a].start;
        let paren =
            lens.len() == 3 && self.t[..start].ends_with('(') && self.gap(a).starts_with(')');
        phone_ok(&d).then_some((if paren { start - 1 } else { start }, d))
    }

    /// An unseparated number right after an order/member/product number label.
    fn not_phone_context(&self, start: usize) -> bool {
        let window = chars_before(self.t, start, 10);
        NOT_PHONE_CONTEXT.iter().any(|k| window.contains(k))
    }

    fn bank(&self, a: usize, b: usize) -> Option<(usize, String)> {
        let lens = self.lens(a, b);
        let start = self.gs[a].start;
        let window = chars_before(self.t, start, BANK_WINDOW);
        if !BANK_CONTEXT.iter().any(|k| window.contains(k)) {
            return None;
        }
        let d = match lens.as_slice() {
            [6..=8] => self.concat(a, b),
            // 支店番号-口座番号: the account is the second group.
            [3, 6..=8] => self.digits(a + 1).to_string(),
            // ゆうちょ: 記号 5 digits, 番号 8 digits.
            [5, 8] if window.contains("ゆうちょ") || window.contains("記号") => {
                self.concat(a, b)
            }
            _ => return None,
        };
        let before = self.t[..start].chars().next_back();
        let after = self.t[self.gs[b - 1].end..].chars().next();
        let near = chars_before(self.t, start, 8);
        let amount = matches!(before, Some('¥' | '￥' | '$'))
            || d.ends_with("0000")
            || AMOUNT_WORDS.iter().any(|w| near.contains(w))
            || after.is_some_and(|c| "円万千億年月日人名件回個株%歳才時分秒倍".contains(c));
        (!amount && !all_same(&d)).then_some((start, d))
    }

    /// Rejects numbers glued to identifiers, paths and amounts around the candidate.
    fn context_ok(&self, r: &Range<usize>) -> bool {
        let before = &self.t[..r.start];
        let mut rev = before.chars().rev();
        let ok_before = match rev.next() {
            None => true,
            Some(c) if c.is_ascii_alphabetic() => {
                let word: String = before
                    .chars()
                    .rev()
                    .take_while(char::is_ascii_alphabetic)
                    .take(9)
                    .collect();
                let word: String = word.chars().rev().collect::<String>().to_ascii_lowercase();
                LETTER_PREFIXES.contains(&word.as_str())
            }
            Some('_' | '\\' | '%' | '#' | '$' | '¥' | '￥' | '+' | '@' | '=' | '&') => false,
            // A path segment (`/img/0312345678`), but not `03-1234-5678/090-2345-6789`.
            Some('/') => rev.next().is_some_and(|c| c.is_ascii_digit()),
            Some('-' | '.') => !rev.next().is_some_and(|c| c.is_ascii_alphanumeric()),
            Some(_) => true,
        };
        let after = &self.t[r.end..];
        let mut fwd = after.chars();
        let ok_after = match fwd.next() {
            None => true,
            Some(c) if c.is_ascii_alphabetic() => false,
            Some('_' | '\\' | '%' | '@') => false,
            Some('-' | '.') => !fwd.next().is_some_and(|c| c.is_ascii_alphanumeric()),
            Some(_) => true,
        };
        ok_before && ok_after
    }
}

/// The last `n` characters of `t[..end]`.
fn chars_before(t: &str, end: usize, n: usize) -> &str {
    let head = &t[..end];
    let start = head.char_indices().rev().nth(n - 1).map_or(0, |(i, _)| i);
    &head[start..]
}

fn all_same(d: &str) -> bool {
    d.bytes().all(|b| Some(b) == d.bytes().next())
}

/// Whether normalized digits are a personal phone number (not free dial, navi dial, …).
pub(crate) fn phone_ok(d: &str) -> bool {
    if !d.bytes().all(|b| b.is_ascii_digit()) || !d.starts_with('0') {
        return false;
    }
    let mobile = ["050", "060", "070", "080", "090"]
        .iter()
        .any(|p| d.starts_with(p));
    let ok = match d.len() {
        11 => mobile && !d.starts_with("0800"),
        10 => {
            !d.starts_with("00")
                && !mobile
                && !d.starts_with("020")
                && !["0120", "0570", "0990", "0180", "0170", "0800"]
                    .iter()
                    .any(|p| d.starts_with(p))
        }
        _ => false,
    };
    ok && !all_same(&d[d.len() - 8..]) && !"01234567890".starts_with(d)
}

/// Luhn checksum over ASCII digits.
pub(crate) fn luhn(d: &str) -> bool {
    let mut sum = 0u32;
    for (i, b) in d.bytes().rev().enumerate() {
        let mut v = u32::from(b.wrapping_sub(b'0'));
        if i % 2 == 1 {
            v *= 2;
            if v > 9 {
                v -= 9;
            }
        }
        sum += v;
    }
    sum.is_multiple_of(10)
}

/// Whether digits are a plausible real card number: length, Luhn, issuer range, not a test number.
fn card_ok(d: &str) -> bool {
    let len = d.len();
    if !(13..=19).contains(&len) || !d.bytes().all(|b| b.is_ascii_digit()) {
        return false;
    }
    let p = |n: usize| d[..n].parse::<u32>().unwrap_or(0);
    let (p2, p3, p4) = (p(2), p(3), p(4));
    // Visa's old 13-digit numbers are left out: they collide with JAN codes.
    let issuer = (d.starts_with('4') && [16, 19].contains(&len))
        || (((51..=55).contains(&p2) || (2221..=2720).contains(&p4)) && len == 16)
        || ((p2 == 34 || p2 == 37) && len == 15)
        || ((3528..=3589).contains(&p4) && len >= 16)
        || ((p2 == 36 || p2 == 38 || p2 == 39 || (300..=305).contains(&p3) || p4 == 3095)
            && len >= 14)
        || ((p4 == 6011 || (644..=649).contains(&p3) || p2 == 65 || p2 == 62) && len >= 16);
    issuer && luhn(d) && !all_same(d) && !TEST_CARDS.contains(&d)
}

/// Luhn-valid card number of a valid length (for watchlist values; issuer not checked).
pub(crate) fn card_value_ok(d: &str) -> bool {
    (13..=19).contains(&d.len()) && luhn(d)
}

/// The My Number check digit of the first 11 digits.
pub(crate) fn my_number_check(d: &[u8]) -> u32 {
    let sum: u32 = (1..=11u32)
        .map(|n| {
            let p = u32::from(d[11 - n as usize].wrapping_sub(b'0'));
            let q = if n <= 6 { n + 1 } else { n - 5 };
            p * q
        })
        .sum();
    let r = sum % 11;
    if r <= 1 { 0 } else { 11 - r }
}

/// Whether 12 digits form a My Number with a valid check digit.
pub(crate) fn my_number_ok(d: &str) -> bool {
    let b = d.as_bytes();
    b.len() == 12
        && b.iter().all(u8::is_ascii_digit)
        && !all_same(d)
        && my_number_check(b) == u32::from(b[11] - b'0')
}

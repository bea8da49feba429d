//! Compiling a prescreen from the gate's [`Spec`]: one bit of 64 per anchor, a u16 table of the
//! BMP naming each character's role entry, the first tier's own u8 table of 32-byte entries
//! (anchor and letter bits, lane keep and add, sign automaton positions), and the searchers of
//! each group's rarest anchors.

use super::near::Rare;
use super::role::*;
use super::signs::Signs;
use super::{CharSpec, Info, LETTER_POS, Prescreen, QUICK_SIGN, Quick, Spec};

/// Gives each anchor one of 64 bits, so that the anchors of one group differ where they can:
/// the bit that the fewest anchors sharing a group with it hold, then the least used one.
fn assign_bits(groups: &[(Vec<u16>, usize, u32)]) -> Vec<u32> {
    let anchors = groups
        .iter()
        .flat_map(|(a, _, _)| a.iter().map(|&x| usize::from(x) + 1))
        .max()
        .unwrap_or(0);
    let mut peers: Vec<Vec<u16>> = vec![Vec::new(); anchors];
    for (members, _, _) in groups {
        for &a in members {
            peers[usize::from(a)].extend(members.iter().filter(|&&m| m != a));
        }
    }
    let mut bit_of: Vec<Option<u32>> = vec![None; anchors];
    let mut used = [0usize; 64];
    for a in 0..anchors {
        let mut clash = [0usize; 64];
        for &p in &peers[a] {
            if let Some(b) = bit_of[usize::from(p)] {
                clash[b as usize] += 1;
            }
        }
        let b = (0..64u32)
            .min_by_key(|&b| (clash[b as usize], used[b as usize], b))
            .unwrap_or(0);
        used[b as usize] += 1;
        bit_of[a] = Some(b);
    }
    bit_of.into_iter().map(|b| b.unwrap_or(0)).collect()
}

impl Prescreen {
    /// Compiles the roles into the table of the BMP.
    pub(in crate::analyze::gate) fn new(spec: Spec) -> Prescreen {
        let bit_of = assign_bits(&spec.groups);
        let mask_of = |anchors: &[u16]| {
            anchors
                .iter()
                .filter_map(|&a| bit_of.get(usize::from(a)))
                .fold(0u64, |m, &b| m | 1 << b)
        };
        let compile = |c: &CharSpec| Info {
            anchors: mask_of(&c.anchors),
            flags: c.flags,
            value: c.value,
        };
        let mut chars = spec.chars;
        chars.sort_by_key(|(c, _)| *c);
        chars.dedup_by_key(|(c, _)| *c);
        // Entry 0: no role; entry 1: passes (when there are more roles than entries); then
        // one entry per distinct role.
        let mut info = vec![
            Info::default(),
            Info {
                flags: PASS,
                ..Info::default()
            },
        ];
        let mut ids: std::collections::HashMap<(u64, u8, u8), u16> = Default::default();
        let mut entry = |c: &CharSpec| -> u16 {
            let i = compile(c);
            *ids.entry((i.anchors, i.flags, i.value)).or_insert_with(|| {
                if info.len() < usize::from(LETTER_POS) {
                    info.push(i);
                    (info.len() - 1) as u16
                } else {
                    1
                }
            })
        };
        let mut index: Box<[u16; 0x10000]> = vec![0u16; 0x10000]
            .into_boxed_slice()
            .try_into()
            .expect("a vector of 0x10000 entries");
        let mut astral = Vec::new();
        for (b, c) in spec.ascii.iter().enumerate().take(0x80) {
            if c.flags != 0 || !c.anchors.is_empty() {
                index[b] = entry(c);
            }
        }
        for (c, s) in &chars {
            let cp = *c as u32;
            if s.flags == 0 && s.anchors.is_empty() {
                continue;
            }
            if cp >= 0x10000 {
                astral.push(*c);
            } else if cp >= 0x80 {
                index[cp as usize] = entry(s);
            }
        }
        for (cp, slot) in index.iter_mut().enumerate() {
            if super::super::counts_as_letter(cp as u32) {
                *slot |= LETTER_POS;
            }
        }
        let mut groups_of = vec![Vec::new(); 64];
        let groups: Vec<(u64, u32, u32)> = spec
            .groups
            .iter()
            .enumerate()
            .map(|(g, (members, need, span))| {
                let mask = mask_of(members);
                for (b, of) in groups_of.iter_mut().enumerate() {
                    if mask & (1 << b) != 0 {
                        of.push(g as u16);
                    }
                }
                // Anchors that share a bit count once: lower the need by the difference.
                let lost = members.len().saturating_sub(mask.count_ones() as usize);
                (mask, need.saturating_sub(lost) as u32, *span)
            })
            .collect();
        let shortest_chain = spec
            .numbers
            .iter()
            .map(|(_, n)| *n)
            .chain(spec.digits)
            .min()
            .unwrap_or(usize::MAX);
        let letters = spec.letters.unwrap_or(usize::MAX);
        let bias = |need: usize| (1u32 << 15) - need.clamp(1, 1 << 15) as u32;
        let lane_start = bias(shortest_chain) | (bias(letters) << 16);
        let words: Vec<(Vec<char>, usize)> = spec
            .words
            .iter()
            .map(|(w, at)| (w.chars().collect(), *at))
            .collect();
        let at_word = info.iter().any(|i| i.flags & AT_T != 0);
        let role_of = |cp: u32| &info[usize::from(index[cp as usize] & !LETTER_POS)];
        let (signs, sign_masks) = Signs::new(
            &words,
            at_word,
            |cp| role_of(cp).flags & PASS != 0,
            |cp| {
                let r = role_of(cp);
                (r.flags & LETTER != 0).then_some(r.value)
            },
        );
        let quick_entry = |i: &Info, signs: u32, letter: bool| -> Quick {
            let f = i.flags;
            let keep = if f & (DIGIT | SEPARATOR | TRANSPARENT) != 0 {
                0xFFFF
            } else {
                0
            } | if f & RUN != 0 { 0xFFFF_0000 } else { 0 };
            let letter_bit = if f & LETTER != 0 {
                1u32 << (i.value & 31)
            } else {
                0
            };
            Quick {
                anchors: i.anchors,
                keep,
                add: (lane_start & !keep)
                    + u32::from(f & DIGIT != 0)
                    + (u32::from(letter_bit != 0) << 16),
                letter_bit,
                signs,
                letter: u32::from(letter),
            }
        };
        // One entry per role and `before` bits that some character has (255: all past 254).
        let mut quick = Box::new([QUICK_SIGN; 256]);
        let mut quick_ids: std::collections::HashMap<(u16, u32), u8> = Default::default();
        let mut quick_index: Box<[u8; 0x10000]> = vec![0u8; 0x10000]
            .into_boxed_slice()
            .try_into()
            .expect("a vector of 0x10000 entries");
        for (cp, (q, &slot)) in quick_index.iter_mut().zip(index.iter()).enumerate() {
            let before = sign_masks[cp];
            let next = quick_ids.len();
            *q = *quick_ids
                .entry((slot, before))
                .or_insert_with(|| match u8::try_from(next) {
                    Ok(id) if id < u8::MAX => {
                        let role = &info[usize::from(slot & !LETTER_POS)];
                        quick[next] = quick_entry(role, before, slot & LETTER_POS != 0);
                        id
                    }
                    _ => u8::MAX,
                });
        }
        // Of a group's anchors, any `count - need + 1` hold one that a passing post holds:
        // the rarest ones (the gate lists a group's anchors rarest first). A group that
        // needs none has no rare members (`None`): every post may pass for it.
        let rare: Vec<Option<u64>> = spec
            .groups
            .iter()
            .map(|(members, need, _)| {
                let some = members.len().saturating_sub(*need) + 1;
                (*need > 0).then(|| mask_of(&members[..some.min(members.len())]))
            })
            .collect();
        let required = rare.iter().fold(0u64, |all, r| all | r.unwrap_or(u64::MAX));
        let rare = Rare::new(&rare, &index, &info);
        Prescreen {
            quick_index,
            quick,
            signs,
            at_word,
            lane_start,
            required,
            rare,
            index,
            info,
            groups,
            groups_of,
            astral,
            words: spec
                .words
                .into_iter()
                .map(|(w, at)| (w.into_bytes(), at))
                .collect(),
            letters,
            keys: spec.keys,
            digits: spec.digits.unwrap_or(usize::MAX),
            shortest_chain,
            numbers: spec
                .numbers
                .iter()
                .map(|(digits, n)| {
                    let tail = &digits[digits.len().saturating_sub(16)..];
                    let value = tail
                        .iter()
                        .fold(0u64, |v, d| (v << 4) | u64::from(d.wrapping_sub(b'0') & 15));
                    let mask = if tail.len() >= 16 {
                        u64::MAX
                    } else {
                        (1u64 << (4 * tail.len())) - 1
                    };
                    (value, mask, *n)
                })
                .collect(),
        }
    }
}

//! A layout's field rules in plain words, for officers who do not read regular expressions:
//! a pattern such as `[0-9]{3}[A-Z][0-9]{4}` reads "3 digits, a capital letter, then 4
//! digits". The layout keeps the pattern itself; this only says it. Patterns beyond the
//! simple forms layouts use (character sets, literals, counts, optional and alternative
//! parts) are said as "the pattern …", never guessed at.

/// A pattern in words ("3 digits, a capital letter, then 4 digits"); the pattern itself when
/// it is not of a form this can say.
pub fn pattern(p: &str) -> String {
    let chars: Vec<char> = p.chars().collect();
    let mut at = 0;
    match alternatives(&chars, &mut at) {
        Some(w) if at == chars.len() => w,
        _ => format!("the pattern {p}"),
    }
}

/// `a|b|c` at the top or inside a group.
fn alternatives(c: &[char], at: &mut usize) -> Option<String> {
    let mut alts = vec![sequence(c, at)?];
    while c.get(*at) == Some(&'|') {
        *at += 1;
        alts.push(sequence(c, at)?);
    }
    Some(if alts.len() == 1 {
        alts.remove(0)
    } else {
        format!("one of: {}", alts.join("; or "))
    })
}

/// Atoms one after another, merged where a literal runs on ("“EA”").
fn sequence(c: &[char], at: &mut usize) -> Option<String> {
    let mut parts: Vec<String> = Vec::new();
    let mut literal = String::new();
    while let Some(&ch) = c.get(*at) {
        if ch == '|' || ch == ')' {
            break;
        }
        let (atom, single_literal) = atom(c, at)?;
        let (lo, hi) = quantifier(c, at)?;
        match (single_literal, lo, hi) {
            (Some(l), 1, Some(1)) => {
                literal.push(l);
                continue;
            }
            _ => {
                if !literal.is_empty() {
                    parts.push(format!("“{}”", std::mem::take(&mut literal)));
                }
                parts.push(counted(&atom, lo, hi));
            }
        }
    }
    if !literal.is_empty() {
        parts.push(format!("“{literal}”"));
    }
    Some(match parts.len() {
        0 => "nothing".into(),
        1 => parts.remove(0),
        _ => {
            let last = parts.pop().unwrap_or_default();
            format!("{}, then {last}", parts.join(", "))
        }
    })
}

/// What one atom is, in words with its plural ("digit"/"digits"), and the character when it
/// is a plain literal.
struct Atom {
    one: String,
    many: String,
}

fn atom(c: &[char], at: &mut usize) -> Option<(Atom, Option<char>)> {
    let ch = *c.get(*at)?;
    *at += 1;
    match ch {
        '[' => {
            let set = set(c, at)?;
            Some((set, None))
        }
        '(' => {
            let inner = alternatives(c, at)?;
            if c.get(*at) != Some(&')') {
                return None;
            }
            *at += 1;
            Some((
                Atom {
                    one: inner.clone(),
                    many: format!("({inner})"),
                },
                None,
            ))
        }
        '\\' => {
            let e = *c.get(*at)?;
            *at += 1;
            match e {
                'd' => Some((
                    Atom {
                        one: "a digit".into(),
                        many: "digits".into(),
                    },
                    None,
                )),
                e if e.is_ascii_punctuation() => Some((literal_atom(e), Some(e))),
                _ => None,
            }
        }
        '.' | '*' | '+' | '?' | '{' | '}' | ']' | '^' | '$' => None,
        _ => Some((literal_atom(ch), Some(ch))),
    }
}

fn literal_atom(ch: char) -> Atom {
    Atom {
        one: format!("“{ch}”"),
        many: format!("“{ch}”s"),
    }
}

/// `[...]`: digits, capital letters, small letters and listed characters.
fn set(c: &[char], at: &mut usize) -> Option<Atom> {
    let mut kinds: Vec<(&str, &str)> = Vec::new();
    let mut listed: Vec<char> = Vec::new();
    let mut ranges: Vec<(char, char)> = Vec::new();
    loop {
        let ch = *c.get(*at)?;
        *at += 1;
        match ch {
            ']' => break,
            '^' if kinds.is_empty() && listed.is_empty() && ranges.is_empty() => return None,
            '\\' => {
                let e = *c.get(*at)?;
                *at += 1;
                if e == 'd' {
                    kinds.push(("a digit", "digits"));
                } else {
                    listed.push(e);
                }
            }
            _ if c.get(*at) == Some(&'-') && c.get(*at + 1).is_some_and(|n| *n != ']') => {
                let hi = c[*at + 1];
                *at += 2;
                match (ch, hi) {
                    ('0', '9') => kinds.push(("a digit", "digits")),
                    ('A', 'Z') => kinds.push(("a capital letter", "capital letters")),
                    ('a', 'z') => kinds.push(("a small letter", "small letters")),
                    _ => ranges.push((ch, hi)),
                }
            }
            _ => listed.push(ch),
        }
    }
    let mut one: Vec<String> = kinds.iter().map(|k| k.0.to_string()).collect();
    let mut many: Vec<String> = kinds.iter().map(|k| k.1.to_string()).collect();
    for (lo, hi) in ranges {
        one.push(format!("a character from {lo} to {hi}"));
        many.push(format!("characters from {lo} to {hi}"));
    }
    if !listed.is_empty() {
        let l: Vec<String> = listed.iter().map(|c| format!("“{c}”")).collect();
        let l = or_list(&l);
        if kinds.is_empty() && one.is_empty() {
            return Some(Atom {
                one: l.clone(),
                many: format!("characters each {l}"),
            });
        }
        one.push(l.clone());
        many.push(l);
    }
    if one.is_empty() {
        return None;
    }
    Some(Atom {
        one: or_list(&one),
        many: or_list(&many),
    })
}

/// `{n}`, `{n,m}`, `?`: (least, most); (1, Some(1)) when there is none.
fn quantifier(c: &[char], at: &mut usize) -> Option<(u32, Option<u32>)> {
    match c.get(*at) {
        Some('?') => {
            *at += 1;
            Some((0, Some(1)))
        }
        Some('{') => {
            let end = c[*at..].iter().position(|x| *x == '}')? + *at;
            let body: String = c[*at + 1..end].iter().collect();
            *at = end + 1;
            match body.split_once(',') {
                None => {
                    let n = body.trim().parse().ok()?;
                    Some((n, Some(n)))
                }
                Some((a, b)) => {
                    let lo = a.trim().parse().ok()?;
                    let hi = if b.trim().is_empty() {
                        None
                    } else {
                        Some(b.trim().parse().ok()?)
                    };
                    Some((lo, hi))
                }
            }
        }
        Some('+') => {
            *at += 1;
            Some((1, None))
        }
        Some('*') => {
            *at += 1;
            Some((0, None))
        }
        _ => Some((1, Some(1))),
    }
}

fn counted(a: &Atom, lo: u32, hi: Option<u32>) -> String {
    match (lo, hi) {
        (1, Some(1)) => a.one.clone(),
        // A group of several parts keeps its brackets, so "optionally" covers them all.
        (0, Some(1)) if a.one.contains(", then") => format!("optionally {}", a.many),
        (0, Some(1)) => format!("optionally {}", a.one),
        (1, None) => format!("one or more {}", a.many),
        (0, None) => format!("any number of {}", a.many),
        (n, Some(m)) if n == m => format!("{n} {}", a.many),
        (0, Some(m)) => format!("up to {m} {}", a.many),
        (n, Some(m)) => format!("{n} to {m} {}", a.many),
        (n, None) => format!("{n} or more {}", a.many),
    }
}

/// "a, b or c".
fn or_list(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} or {last}", rest.join(", ")),
    }
}

/// A field's generated value, in words.
pub fn generated(g: &str) -> String {
    match g {
        "file_name" => "filled by the export with the file's name".into(),
        "now" => "filled by the export with the time it is made".into(),
        "sequence" => "filled by the export with the file's sequence number".into(),
        "vpd" => "filled by the export with the organisation's VPD code".into(),
        other => format!("filled by the export ({other})"),
    }
}

/// A trailer's control field, in words: `count`, `count(TYPE)`, `sum(Field)`.
pub fn control(c: &str) -> String {
    if c == "count" {
        return "the number of records in the file".into();
    }
    if c == "lines" {
        return "the number of lines in the file, header and trailer included".into();
    }
    if let Some(t) = c.strip_prefix("count(").and_then(|r| r.strip_suffix(')')) {
        return format!("the number of {t} records");
    }
    if let Some(f) = c.strip_prefix("sum(").and_then(|r| r.strip_suffix(')')) {
        return format!("the total of {f} over the records");
    }
    format!("the control total {c}")
}

#[cfg(test)]
mod tests {
    use super::pattern;

    #[test]
    fn the_layouts_patterns_read_as_words() {
        for (p, words) in [
            (
                "[0-9]{3}[A-Z][0-9]{4}",
                "3 digits, a capital letter, then 4 digits",
            ),
            ("EA[0-9]{4}", "“EA”, then 4 digits"),
            (
                "R[A-Z0-9]{2}([A-Z0-9]{2})?",
                "“R”, 2 capital letters or digits, then optionally 2 capital letters or digits",
            ),
            (
                "[a-z][a-z0-9.]{2,29}",
                "a small letter, then 2 to 29 small letters, digits or “.”",
            ),
            (
                "([0-9]{1,4}[LMNT]|BR|D0)",
                "one of: 1 to 4 digits, then “L”, “M”, “N” or “T”; or “BR”; or “D0”",
            ),
            ("CSF-[0-9]{3}", "“CSF-”, then 3 digits"),
            ("20[0-9]{2}/[0-9]{2}", "“20”, 2 digits, “/”, then 2 digits"),
            (
                "[A-Z]{2}[0-9]{4}[A-Z]?",
                "2 capital letters, 4 digits, then optionally a capital letter",
            ),
            ("a.*b", "the pattern a.*b"),
            ("[^0-9]", "the pattern [^0-9]"),
            (
                "[0-9]+(-[0-9]+)?",
                "one or more digits, then optionally (“-”, then one or more digits)",
            ),
        ] {
            assert_eq!(pattern(p), words, "{p}");
        }
    }

    #[test]
    fn every_bundled_pattern_is_said_in_words() {
        let set = crate::layout::LayoutSet::bundled().expect("layouts");
        for l in &set.layouts {
            for r in &l.records {
                for f in &r.fields {
                    if let Some(p) = &f.pattern {
                        let p = p.as_str().trim_start_matches("^(?:").trim_end_matches(")$");
                        let w = pattern(p);
                        assert!(!w.starts_with("the pattern"), "{}: {p} → {w}", l.id);
                    }
                }
            }
        }
    }
}

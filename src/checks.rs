//! Identifier checks used in NHS workforce data.
//!
//! Each check takes the field text and answers `Ok(())` or a short plain-English reason. The
//! rules are the public ones summarised in `shared/ESR-FACTS.md`. This module is pure: no I/O,
//! no allocation on the success path.

use serde::{Deserialize, Serialize};

/// An identifier check a layout field can ask for (`check = "ni_number"` in a layout file).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Check {
    /// National Insurance number (HMRC NIM39110).
    NiNumber,
    /// NHS number, 10 digits with a modulus 11 check digit.
    NhsNumber,
    /// General Medical Council reference: 7 digits.
    Gmc,
    /// Nursing and Midwifery Council PIN: 2 digits, a letter, 4 digits, a letter.
    Nmc,
    /// Health and Care Professions Council number: profession prefix and up to 6 digits.
    Hcpc,
    /// General Dental Council number: digits, or `CD` and 6 digits.
    Gdc,
    /// General Pharmaceutical Council number: 7 digits starting with 2.
    Gphc,
    /// UK postcode (BS7666 pattern).
    Postcode,
    /// E-mail address.
    Email,
    /// ESR employee (person) number: 8 digits.
    EsrEmployee,
    /// ESR assignment number: employee number, optionally `-N` for a further post.
    EsrAssignment,
    /// VPD code: exactly 3 letters or digits.
    Vpd,
}

impl Check {
    /// Every check, for documentation and the generator.
    pub const ALL: [Check; 12] = [
        Check::NiNumber,
        Check::NhsNumber,
        Check::Gmc,
        Check::Nmc,
        Check::Hcpc,
        Check::Gdc,
        Check::Gphc,
        Check::Postcode,
        Check::Email,
        Check::EsrEmployee,
        Check::EsrAssignment,
        Check::Vpd,
    ];

    /// What the identifier is called in messages.
    pub fn label(self) -> &'static str {
        match self {
            Check::NiNumber => "National Insurance number",
            Check::NhsNumber => "NHS number",
            Check::Gmc => "GMC reference number",
            Check::Nmc => "NMC PIN",
            Check::Hcpc => "HCPC registration number",
            Check::Gdc => "GDC registration number",
            Check::Gphc => "GPhC registration number",
            Check::Postcode => "postcode",
            Check::Email => "e-mail address",
            Check::EsrEmployee => "ESR employee number",
            Check::EsrAssignment => "ESR assignment number",
            Check::Vpd => "VPD code",
        }
    }

    /// Checks `value`; on failure returns why, in words an HR officer understands.
    pub fn check(self, value: &str) -> Result<(), &'static str> {
        match self {
            Check::NiNumber => ni_number(value),
            Check::NhsNumber => nhs_number(value),
            Check::Gmc => digits_exact(value, 7, "must be 7 digits"),
            Check::Nmc => nmc(value),
            Check::Hcpc => hcpc(value),
            Check::Gdc => gdc(value),
            Check::Gphc => {
                digits_exact(value, 7, "must be 7 digits starting with 2")?;
                if value.starts_with('2') {
                    Ok(())
                } else {
                    Err("must be 7 digits starting with 2")
                }
            }
            Check::Postcode => postcode(value),
            Check::Email => email(value),
            Check::EsrEmployee => digits_exact(value, 8, "must be 8 digits"),
            Check::EsrAssignment => esr_assignment(value),
            Check::Vpd => {
                if value.len() == 3
                    && value
                        .bytes()
                        .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
                {
                    Ok(())
                } else {
                    Err("must be exactly 3 capital letters or digits")
                }
            }
        }
    }
}

fn digits_exact(v: &str, n: usize, why: &'static str) -> Result<(), &'static str> {
    if v.len() == n && v.bytes().all(|b| b.is_ascii_digit()) {
        Ok(())
    } else {
        Err(why)
    }
}

/// National Insurance number: two prefix letters, six digits, suffix A-D.
pub fn ni_number(v: &str) -> Result<(), &'static str> {
    const SHAPE: &str =
        "must be 2 letters, 6 digits and a final letter A, B, C or D (e.g. QQ123456C)";
    let b = v.as_bytes();
    if b.len() != 9
        || !b[0].is_ascii_uppercase()
        || !b[1].is_ascii_uppercase()
        || !b[2..8].iter().all(u8::is_ascii_digit)
        || !matches!(b[8], b'A'..=b'D')
    {
        return Err(SHAPE);
    }
    if matches!(b[0], b'D' | b'F' | b'I' | b'Q' | b'U' | b'V')
        || matches!(b[1], b'D' | b'F' | b'I' | b'O' | b'Q' | b'U' | b'V')
    {
        return Err("uses a prefix letter HMRC never issues (D, F, I, Q, U, V, or O second)");
    }
    if matches!(
        &b[0..2],
        b"BG" | b"GB" | b"KN" | b"NK" | b"NT" | b"TN" | b"ZZ"
    ) {
        return Err("uses a prefix HMRC does not allocate (BG, GB, KN, NK, NT, TN, ZZ)");
    }
    Ok(())
}

/// The modulus 11 check digit for the first nine digits of an NHS number, or None when the
/// remainder makes the number invalid (check digit 10).
pub fn nhs_check_digit(first9: &[u8]) -> Option<u8> {
    let sum: u32 = first9
        .iter()
        .enumerate()
        .map(|(i, d)| u32::from(d - b'0') * (10 - i as u32))
        .sum();
    match 11 - (sum % 11) {
        11 => Some(0),
        10 => None,
        c => Some(c as u8),
    }
}

/// NHS number: 10 digits, modulus 11.
pub fn nhs_number(v: &str) -> Result<(), &'static str> {
    let b = v.as_bytes();
    if b.len() != 10 || !b.iter().all(u8::is_ascii_digit) {
        return Err("must be 10 digits");
    }
    match nhs_check_digit(&b[..9]) {
        Some(c) if c == b[9] - b'0' => Ok(()),
        _ => Err("fails the NHS number check digit (modulus 11): a digit is probably mistyped"),
    }
}

fn nmc(v: &str) -> Result<(), &'static str> {
    let b = v.as_bytes();
    let ok = b.len() == 8
        && b[0..2].iter().all(u8::is_ascii_digit)
        && b[2].is_ascii_uppercase()
        && b[3..7].iter().all(u8::is_ascii_digit)
        && b[7].is_ascii_uppercase();
    if ok {
        Ok(())
    } else {
        Err("must be 2 digits, a letter, 4 digits and a letter (e.g. 71A2998E)")
    }
}

/// HCPC profession prefixes (ESR-FACTS.md), longest first so `PYL` wins over `PH`-like overlaps.
pub const HCPC_PREFIXES: [&str; 16] = [
    "HAD", "ODP", "PYL", "AS", "BS", "CH", "CS", "DT", "OR", "OT", "PA", "PH", "PO", "RA", "SL",
    "SW",
];

fn hcpc(v: &str) -> Result<(), &'static str> {
    const WHY: &str = "must be a profession prefix (e.g. PH, OT, PYL) followed by up to 6 digits";
    // "SW" (social workers in England) left HCPC in 2019; it is not accepted.
    for p in HCPC_PREFIXES.iter().filter(|p| **p != "SW") {
        if let Some(rest) = v.strip_prefix(p)
            && !rest.is_empty()
            && rest.len() <= 6
            && rest.bytes().all(|b| b.is_ascii_digit())
        {
            return Ok(());
        }
    }
    Err(WHY)
}

fn gdc(v: &str) -> Result<(), &'static str> {
    let digits = v.strip_prefix("CD").unwrap_or(v);
    if !digits.is_empty() && digits.len() <= 6 && digits.bytes().all(|b| b.is_ascii_digit()) {
        Ok(())
    } else {
        Err("must be up to 6 digits, optionally after CD (e.g. CD123456)")
    }
}

/// UK postcode in the BS7666 pattern: outward code (A9, A99, AA9, AA99, A9A or AA9A), a space,
/// inward code (a digit and two letters). Q, V and X are never first and I, J and Z never
/// second; the letter ending an A9A outward code is one of A B C D E F G H J K P S T U W and
/// the one ending an AA9A code one of A B E H M N P R V W X Y; the inward letters are never
/// C I K M O V. `GIR 0AA` (the Girobank postcode) is the one exception and is accepted.
fn postcode(v: &str) -> Result<(), &'static str> {
    const WHY: &str = "is not a valid UK postcode (e.g. LS1 4AP)";
    if v == "GIR 0AA" {
        return Ok(());
    }
    let Some((outward, inward)) = v.split_once(' ') else {
        return Err(WHY);
    };
    let o = outward.as_bytes();
    let i = inward.as_bytes();
    if i.len() != 3 || !i[0].is_ascii_digit() || !i[1..].iter().all(u8::is_ascii_uppercase) {
        return Err(WHY);
    }
    if i[1..]
        .iter()
        .any(|c| matches!(c, b'C' | b'I' | b'K' | b'M' | b'O' | b'V'))
    {
        return Err(WHY);
    }
    if !(2..=4).contains(&o.len())
        || !o[0].is_ascii_uppercase()
        || matches!(o[0], b'Q' | b'V' | b'X')
    {
        return Err(WHY);
    }
    // Outward shapes: A9, A99, AA9, AA99, A9A, AA9A.
    let shape: String = o
        .iter()
        .map(|c| {
            if c.is_ascii_digit() {
                '9'
            } else if c.is_ascii_uppercase() {
                'A'
            } else {
                '?'
            }
        })
        .collect();
    if !matches!(
        shape.as_str(),
        "A9" | "A99" | "AA9" | "AA99" | "A9A" | "AA9A"
    ) {
        return Err(WHY);
    }
    if shape.starts_with("AA") && matches!(o[1], b'I' | b'J' | b'Z') {
        return Err(WHY);
    }
    // The letter ending an A9A or AA9A outward code comes from a short list.
    let last_ok = match shape.as_str() {
        "A9A" => b"ABCDEFGHJKPSTUW".contains(&o[2]),
        "AA9A" => b"ABEHMNPRVWXY".contains(&o[3]),
        _ => true,
    };
    if last_ok { Ok(()) } else { Err(WHY) }
}

/// E-mail address: a local part of 1 to 64 characters without spaces, commas, semicolons or
/// `@`, that neither starts nor ends with a dot nor has two dots in a row; an `@`; and a domain
/// of at least two dot-separated labels of letters, digits and hyphens, each 1 to 63
/// characters long and neither starting nor ending with a hyphen.
fn email(v: &str) -> Result<(), &'static str> {
    const WHY: &str = "is not a valid e-mail address (e.g. jo.bloggs@nhs.net)";
    let Some((local, domain)) = v.rsplit_once('@') else {
        return Err(WHY);
    };
    let ok_local = !local.is_empty()
        && local.len() <= 64
        && !local.contains(['@', ' ', ',', ';'])
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..");
    let ok_domain = domain.contains('.')
        && domain.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        });
    if ok_local && ok_domain {
        Ok(())
    } else {
        Err(WHY)
    }
}

fn esr_assignment(v: &str) -> Result<(), &'static str> {
    const WHY: &str = "must be an 8-digit employee number, optionally followed by -N for a further post (e.g. 10002345-2)";
    let (emp, suffix) = match v.split_once('-') {
        Some((e, s)) => (e, Some(s)),
        None => (v, None),
    };
    if emp.len() != 8 || !emp.bytes().all(|b| b.is_ascii_digit()) {
        return Err(WHY);
    }
    match suffix {
        None => Ok(()),
        Some(s) if !s.is_empty() && s.len() <= 3 && s.bytes().all(|b| b.is_ascii_digit()) => Ok(()),
        Some(_) => Err(WHY),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ni_numbers() {
        assert!(ni_number("KY825461C").is_ok());
        assert!(ni_number("QQ123456C").is_err()); // Q never first
        assert!(ni_number("AO123456A").is_err()); // O never second
        assert!(ni_number("GB123456A").is_err());
        assert!(ni_number("AB123456E").is_err());
        assert!(ni_number("AB12345A").is_err());
    }

    #[test]
    fn nhs_numbers() {
        assert!(nhs_number("9434765919").is_ok());
        assert!(nhs_number("9434765918").is_err());
        assert!(nhs_number("943476591").is_err());
        // Remainder giving 10 is always invalid.
        let mut found_ten = false;
        for n in 0..2000u32 {
            let s = format!("{:09}", 100_000_000 + n);
            if nhs_check_digit(s.as_bytes()).is_none() {
                found_ten = true;
                for d in 0..10 {
                    assert!(nhs_number(&format!("{s}{d}")).is_err());
                }
            }
        }
        assert!(found_ten);
    }

    #[test]
    fn registration_numbers() {
        assert!(Check::Nmc.check("71A2998E").is_ok());
        assert!(Check::Nmc.check("71A299E").is_err());
        assert!(Check::Hcpc.check("PH123456").is_ok());
        assert!(Check::Hcpc.check("PYL123456").is_ok());
        assert!(Check::Hcpc.check("XX123456").is_err());
        assert!(Check::Hcpc.check("PH1234567").is_err());
        assert!(Check::Gmc.check("1234567").is_ok());
        assert!(Check::Gmc.check("123456").is_err());
        assert!(Check::Gphc.check("2012345").is_ok());
        assert!(Check::Gphc.check("3012345").is_err());
        assert!(Check::Gdc.check("CD123456").is_ok());
        assert!(Check::Gdc.check("81234").is_ok());
        assert!(Check::Gdc.check("CDX").is_err());
    }

    #[test]
    fn postcode_girobank_and_final_outward_letters() {
        // The Girobank postcode breaks the pattern (G then I second) but is real.
        assert!(postcode("GIR 0AA").is_ok());
        assert!(postcode("GIR 0AB").is_err());
        assert!(postcode("GIR0AA").is_err());
        // A9A: the letter is one of A B C D E F G H J K P S T U W.
        for c in "ABCDEFGHJKPSTUW".chars() {
            assert!(postcode(&format!("W1{c} 1AA")).is_ok(), "W1{c}");
        }
        for c in "ILMNOQRVXYZ".chars() {
            assert!(postcode(&format!("W1{c} 1AA")).is_err(), "W1{c}");
        }
        // AA9A: the letter is one of A B E H M N P R V W X Y.
        for c in "ABEHMNPRVWXY".chars() {
            assert!(postcode(&format!("SW1{c} 1AA")).is_ok(), "SW1{c}");
        }
        for c in "CDFGIJKLOQSTUZ".chars() {
            assert!(postcode(&format!("SW1{c} 1AA")).is_err(), "SW1{c}");
        }
        // Real ones of both shapes, and the older rules still hold.
        for ok in ["W1A 0AX", "E1W 1AA", "EC1A 1BB", "SW1P 4DF", "NW1W 8JN"] {
            assert!(postcode(ok).is_ok(), "{ok}");
        }
        for bad in [
            "V1A 1AA", "XA1 1AA", "AZ1 1AA", "W1A 1AC", "SW1A 1AV", "W1I 1AA",
        ] {
            assert!(postcode(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn email_dots_and_domain_labels() {
        for ok in [
            "jo.bloggs@nhs.net",
            "jo.m.bloggs@nhs.net",
            "jo+esr@example.nhs.uk",
            "a@b-c.nhs.uk",
            "x@a1.co",
        ] {
            assert!(email(ok).is_ok(), "{ok}");
        }
        let long = "a".repeat(63);
        assert!(email(&format!("jo@{long}.nhs.uk")).is_ok());
        for bad in [
            ".jo@nhs.net",
            "jo.@nhs.net",
            "jo..bloggs@nhs.net",
            "jo@-nhs.net",
            "jo@nhs-.net",
            "jo@nhs.net-",
            "jo@nhs.-net",
            "jo@nhs..net",
            "jo@.nhs.net",
            "jo@nhs.net.",
        ] {
            assert!(email(bad).is_err(), "{bad}");
        }
        let too_long = "a".repeat(64);
        assert!(email(&format!("jo@{too_long}.nhs.uk")).is_err());
        assert!(email(&format!("jo@nhs.{too_long}")).is_err());
    }

    #[test]
    fn postcodes_emails_esr_numbers() {
        for ok in [
            "LS1 4AP", "M1 1AE", "SW1A 1AA", "B33 8TH", "CR2 6XH", "DN55 1PT", "EC1A 1BB",
        ] {
            assert!(postcode(ok).is_ok(), "{ok}");
        }
        for bad in ["LS14AP", "Q1 1AA", "LS1 4AC", "AI1 1AA", "12 3AB", "LS1 4A"] {
            assert!(postcode(bad).is_err(), "{bad}");
        }
        assert!(email("jo.bloggs@nhs.net").is_ok());
        assert!(email("jo.bloggs@nhs").is_err());
        assert!(email("jo bloggs@nhs.net").is_err());
        assert!(Check::EsrEmployee.check("10002345").is_ok());
        assert!(Check::EsrEmployee.check("1000234").is_err());
        assert!(Check::EsrAssignment.check("10002345-2").is_ok());
        assert!(Check::EsrAssignment.check("10002345").is_ok());
        assert!(Check::EsrAssignment.check("10002345-").is_err());
        assert!(Check::Vpd.check("277").is_ok());
        assert!(Check::Vpd.check("27").is_err());
    }
}

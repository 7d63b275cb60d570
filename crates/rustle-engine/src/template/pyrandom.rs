//! Python's `random.Random`, for Ansible's `random` and `shuffle` filters:
//! with a seed they must give what ansible-core gives (`{{ 59 |
//! random(seed=inventory_hostname) }}` spreads cron jobs the same way on
//! every run and with either tool). CPython's generator is MT19937 seeded
//! with `init_by_array`, which `rand_mt` implements; the seeding of ints
//! and strings and `randrange`/`choice`/`shuffle` on top follow CPython.

use std::hash::{BuildHasher, RandomState};

use minijinja::value::{Kwargs, ValueKind};
use minijinja::{Environment, Error, ErrorKind, Value};
use rand_mt::Mt;
use sha2::{Digest, Sha512};

use super::filters::add_filter;

pub fn register(env: &mut Environment<'static>) {
    add_filter(env, "random", random);
    add_filter(env, "shuffle", shuffle);
}

fn filter_error(msg: impl Into<String>) -> Error {
    Error::new(ErrorKind::InvalidOperation, msg.into())
}

/// `Random(seed)` for a filter's `seed` keyword: `None` (and, as Ansible's
/// `if seed:` for `shuffle`, a false one) is unseeded.
fn generator(seed: Option<Value>) -> Result<PyRandom, Error> {
    let Some(seed) = seed.filter(|s| !s.is_none()) else {
        return Ok(PyRandom::unseeded());
    };
    match seed.kind() {
        ValueKind::String => Ok(PyRandom::from_str(seed.as_str().unwrap_or_default())),
        ValueKind::Bool => Ok(PyRandom::from_int(i64::from(seed.is_true()))),
        ValueKind::Number => i64::try_from(seed.clone())
            .map(PyRandom::from_int)
            .map_err(|_| filter_error(format!("random: unsupported seed {seed}"))),
        _ => Err(filter_error(format!("random: unsupported seed {seed}"))),
    }
}

/// Ansible's `random`: `end | random(start, step, seed=...)` is
/// `randrange(start, end, step)` for an int, `choice` for a sequence.
fn random(
    end: Value,
    start: Option<i64>,
    step: Option<i64>,
    kwargs: Kwargs,
) -> Result<Value, Error> {
    let start = kwargs.get::<Option<i64>>("start")?.or(start);
    let step = kwargs.get::<Option<i64>>("step")?.or(step);
    let seed = kwargs.get::<Option<Value>>("seed")?;
    kwargs.assert_all_used()?;
    let mut rng = generator(seed)?;
    if end.kind() == ValueKind::Number && end.as_i64().is_some() {
        let end = end.as_i64().unwrap_or_default();
        // `if not start: start = 0`, `if not step: step = 1`.
        let start = start.filter(|s| *s != 0).unwrap_or(0);
        let step = step.filter(|s| *s != 0).unwrap_or(1);
        return rng
            .randrange(start, end, step)
            .map(Value::from)
            .ok_or_else(|| {
                filter_error(format!("empty range for randrange({start}, {end}, {step})"))
            });
    }
    if start.is_some_and(|s| s != 0) || step.is_some_and(|s| s != 0) {
        return Err(filter_error(
            "start and step can only be used with integer values",
        ));
    }
    let items: Vec<Value> = end
        .try_iter()
        .map_err(|_| filter_error("random can only be used on sequences and integers"))?
        .collect();
    if items.is_empty() {
        return Err(filter_error("Cannot choose from an empty sequence"));
    }
    let i = rng.below(items.len() as u64) as usize;
    // A string's items are its characters.
    Ok(items[i].clone())
}

/// Ansible's `shuffle`: a shuffled list; `seed` as for `random`.
fn shuffle(items: Value, kwargs: Kwargs) -> Result<Value, Error> {
    let seed = kwargs.get::<Option<Value>>("seed")?.filter(Value::is_true);
    kwargs.assert_all_used()?;
    let mut items: Vec<Value> = items.try_iter()?.collect();
    generator(seed)?.shuffle(&mut items);
    Ok(Value::from(items))
}

pub struct PyRandom(Mt);

impl PyRandom {
    /// `Random(n)` for an int: the key is `abs(n)` in 32-bit words, least
    /// significant first.
    pub fn from_int(n: i64) -> PyRandom {
        PyRandom::from_magnitude(&n.unsigned_abs().to_be_bytes())
    }

    /// `Random(s)` for a string (seed version 2): the key is the integer
    /// whose big-endian bytes are the UTF-8 text and then its SHA-512.
    pub fn from_str(s: &str) -> PyRandom {
        let mut bytes = s.as_bytes().to_vec();
        bytes.extend_from_slice(&Sha512::digest(s.as_bytes()));
        PyRandom::from_magnitude(&bytes)
    }

    /// `Random()`/`SystemRandom()`: unpredictable.
    pub fn unseeded() -> PyRandom {
        let n = RandomState::new().hash_one(std::time::SystemTime::now());
        PyRandom::from_magnitude(&n.to_be_bytes())
    }

    /// Seeds with the non-negative integer whose big-endian bytes these are.
    fn from_magnitude(be: &[u8]) -> PyRandom {
        let mut words: Vec<u32> = be
            .rchunks(4)
            .map(|chunk| {
                chunk
                    .iter()
                    .fold(0u32, |word, &byte| (word << 8) | u32::from(byte))
            })
            .collect();
        // As many words as the integer's bit length needs, at least one.
        while words.len() > 1 && words.last() == Some(&0) {
            words.pop();
        }
        PyRandom(Mt::new_with_key(words))
    }

    /// `getrandbits(k)` for `k <= 64`: whole words, low word first, the
    /// last one shifted down to what is left.
    fn getrandbits(&mut self, k: u32) -> u64 {
        let mut out = 0u64;
        let mut left = k;
        let mut shift = 0;
        while left > 0 {
            let mut word = u64::from(self.0.next_u32());
            if left < 32 {
                word >>= 32 - left;
            }
            out |= word << shift;
            shift += 32;
            left = left.saturating_sub(32);
        }
        out
    }

    /// `_randbelow(n)`: rejection sampling on `n.bit_length()` bits.
    pub fn below(&mut self, n: u64) -> u64 {
        let k = 64 - n.leading_zeros();
        loop {
            let r = self.getrandbits(k);
            if r < n {
                return r;
            }
        }
    }

    /// `randrange(start, stop, step)`; `None` for an empty range or a
    /// zero step.
    pub fn randrange(&mut self, start: i64, stop: i64, step: i64) -> Option<i64> {
        let width = stop.checked_sub(start)?;
        let n = match step {
            0 => return None,
            1 => width,
            s if s > 0 => (width + s - 1).div_euclid(s),
            s => (width + s + 1).div_euclid(s),
        };
        if n <= 0 {
            return None;
        }
        Some(start + step * self.below(n as u64) as i64)
    }

    /// `shuffle(x)`: Fisher-Yates from the end.
    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.below(i as u64 + 1) as usize;
            items.swap(i, j);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Values from CPython 3.11's `random.Random(seed)`.
    #[test]
    fn seeded_like_cpython() {
        assert_eq!(PyRandom::from_int(42).randrange(0, 100, 1), Some(81));
        assert_eq!(PyRandom::from_str("web1").randrange(0, 60, 1), Some(52));
        assert_eq!(
            PyRandom::from_int(0).randrange(0, 1 << 40, 1),
            Some(849_735_321_549)
        );
        assert_eq!(PyRandom::from_int(-7).randrange(5, 100, 7), Some(40));
        let mut items: Vec<u32> = (0..10).collect();
        PyRandom::from_str("s").shuffle(&mut items);
        assert_eq!(items, [3, 2, 1, 4, 8, 0, 6, 5, 9, 7]);
        assert_eq!(PyRandom::from_int(1).randrange(0, 0, 1), None);
        assert_eq!(PyRandom::from_int(1).randrange(0, 10, 0), None);
    }
}

//! TikTok's chunk rules for `FILE_UPLOAD`, as pure functions: the plan the relay sends at init
//! ([`plan`]) and the check TikTok applies to it ([`ChunkRules::check`], which the fake uses).
//!
//! The rules (shared/tiktok-api.md): chunks of 5–64 MB, the last one absorbing the remainder
//! and allowed up to 128 MB, `total_chunk_count = floor(video_size / chunk_size)`, a file under
//! 5 MB is one chunk of its own size, a file over 64 MB must be chunked, 1–1000 chunks, at most
//! 4 GB. TikTok does not say whether "MB" is 10⁶ or 2²⁰ bytes, so [`ChunkRules::STRICT`] takes
//! the narrower reading of every bound and the relay plans within it: its plans pass under both
//! readings (tested below against [`ChunkRules::DECIMAL`] and [`ChunkRules::BINARY`]).

use std::fmt;

const MB: u64 = 1_000_000;
const MIB: u64 = 1 << 20;

/// Bounds on chunked uploads, in bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ChunkRules {
    pub min_chunk_bytes: u64,
    pub max_chunk_bytes: u64,
    pub max_last_chunk_bytes: u64,
    pub max_chunk_count: u64,
    pub max_video_bytes: u64,
}

impl ChunkRules {
    /// "MB" read as 10⁶ bytes.
    pub const DECIMAL: ChunkRules = ChunkRules {
        min_chunk_bytes: 5 * MB,
        max_chunk_bytes: 64 * MB,
        max_last_chunk_bytes: 128 * MB,
        max_chunk_count: 1000,
        max_video_bytes: 4_000 * MB,
    };
    /// "MB" read as 2²⁰ bytes.
    pub const BINARY: ChunkRules = ChunkRules {
        min_chunk_bytes: 5 * MIB,
        max_chunk_bytes: 64 * MIB,
        max_last_chunk_bytes: 128 * MIB,
        max_chunk_count: 1000,
        max_video_bytes: 4 * 1024 * MIB,
    };
    /// The narrower bound of the two readings everywhere: what the relay plans within, and
    /// the fake's default.
    pub const STRICT: ChunkRules = ChunkRules {
        min_chunk_bytes: 5 * MIB,
        max_chunk_bytes: 64 * MB,
        max_last_chunk_bytes: 128 * MB,
        max_chunk_count: 1000,
        max_video_bytes: 4_000 * MB,
    };

    /// Checks an init's `source_info` as TikTok does; the error says which rule failed.
    pub fn check(
        &self,
        video_size_bytes: u64,
        chunk_size_bytes: u64,
        total_chunk_count: u64,
    ) -> Result<ChunkPlan, String> {
        if video_size_bytes == 0 {
            return Err("video_size must be positive".into());
        }
        if video_size_bytes > self.max_video_bytes {
            return Err(format!(
                "video_size {video_size_bytes} is over the {} byte limit",
                self.max_video_bytes
            ));
        }
        if video_size_bytes < self.min_chunk_bytes {
            if chunk_size_bytes != video_size_bytes || total_chunk_count != 1 {
                return Err(format!(
                    "a video under {} bytes is one chunk with chunk_size = video_size",
                    self.min_chunk_bytes
                ));
            }
        } else {
            if !(self.min_chunk_bytes..=self.max_chunk_bytes).contains(&chunk_size_bytes) {
                return Err(format!(
                    "chunk_size {chunk_size_bytes} is outside {}..={}",
                    self.min_chunk_bytes, self.max_chunk_bytes
                ));
            }
            let expected_count = video_size_bytes / chunk_size_bytes;
            if total_chunk_count != expected_count {
                return Err(format!(
                    "total_chunk_count must be floor(video_size / chunk_size) = {expected_count}, not {total_chunk_count}"
                ));
            }
            if video_size_bytes > self.max_chunk_bytes && total_chunk_count < 2 {
                return Err(format!(
                    "a video over {} bytes must be sent in several chunks",
                    self.max_chunk_bytes
                ));
            }
        }
        if !(1..=self.max_chunk_count).contains(&total_chunk_count) {
            return Err(format!(
                "total_chunk_count {total_chunk_count} is outside 1..={}",
                self.max_chunk_count
            ));
        }
        let plan = ChunkPlan {
            video_size_bytes,
            chunk_size_bytes,
            total_chunk_count,
        };
        let last = plan.last_chunk_bytes();
        if total_chunk_count > 1 && last > self.max_last_chunk_bytes {
            return Err(format!(
                "the last chunk would be {last} bytes, over {}",
                self.max_last_chunk_bytes
            ));
        }
        Ok(plan)
    }
}

/// The chunk size TikTok's own example uses; a failed chunk is re-sent whole, so smaller
/// chunks lose less, and 1000 chunks of it still cover the largest file TikTok takes.
pub const DEFAULT_CHUNK_BYTES: u64 = 10 * MB;

/// How a file is cut for TikTok: `total_chunk_count` chunks of `chunk_size_bytes`, the last
/// one taking the remainder.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChunkPlan {
    pub video_size_bytes: u64,
    pub chunk_size_bytes: u64,
    pub total_chunk_count: u64,
}

/// One chunk of a plan: bytes `first_byte ..= last_byte()` of the file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Chunk {
    pub index: u64,
    pub first_byte: u64,
    pub len_bytes: u64,
    pub video_size_bytes: u64,
}

impl Chunk {
    pub fn last_byte(&self) -> u64 {
        self.first_byte + self.len_bytes - 1
    }

    /// The `Content-Range` header of this chunk's PUT.
    pub fn content_range(&self) -> String {
        format!(
            "bytes {}-{}/{}",
            self.first_byte,
            self.last_byte(),
            self.video_size_bytes
        )
    }
}

impl ChunkPlan {
    pub fn last_chunk_bytes(&self) -> u64 {
        self.video_size_bytes - (self.total_chunk_count - 1) * self.chunk_size_bytes
    }

    /// Chunk `index` (0-based), or `None` past the end.
    pub fn chunk(&self, index: u64) -> Option<Chunk> {
        if index >= self.total_chunk_count {
            return None;
        }
        let first_byte = index * self.chunk_size_bytes;
        let len_bytes = if index + 1 == self.total_chunk_count {
            self.last_chunk_bytes()
        } else {
            self.chunk_size_bytes
        };
        Some(Chunk {
            index,
            first_byte,
            len_bytes,
            video_size_bytes: self.video_size_bytes,
        })
    }

    pub fn chunks(&self) -> impl Iterator<Item = Chunk> + '_ {
        (0..self.total_chunk_count).filter_map(|i| self.chunk(i))
    }
}

/// Why a file cannot be planned.
#[derive(Debug, PartialEq, Eq)]
pub enum PlanError {
    Empty,
    TooLarge {
        video_size_bytes: u64,
        max_bytes: u64,
    },
}

impl fmt::Display for PlanError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PlanError::Empty => write!(f, "the video is empty: export it again"),
            PlanError::TooLarge {
                video_size_bytes,
                max_bytes,
            } => write!(
                f,
                "the video is {video_size_bytes} bytes; TikTok takes at most {max_bytes}: export a shorter clip or a lower quality"
            ),
        }
    }
}

/// The relay's plan for a file: chunks of `preferred_chunk_bytes` (kept within the rules and
/// large enough that 1000 chunks cover the file), the last one taking the remainder; a file
/// under two chunks (or under TikTok's minimum) goes as one chunk of its own size.
pub fn plan(video_size_bytes: u64, preferred_chunk_bytes: u64) -> Result<ChunkPlan, PlanError> {
    let rules = ChunkRules::STRICT;
    if video_size_bytes == 0 {
        return Err(PlanError::Empty);
    }
    if video_size_bytes > rules.max_video_bytes {
        return Err(PlanError::TooLarge {
            video_size_bytes,
            max_bytes: rules.max_video_bytes,
        });
    }
    let single = ChunkPlan {
        video_size_bytes,
        chunk_size_bytes: video_size_bytes,
        total_chunk_count: 1,
    };
    if video_size_bytes < rules.min_chunk_bytes {
        return Ok(single);
    }
    let chunk_size_bytes = preferred_chunk_bytes
        .clamp(rules.min_chunk_bytes, rules.max_chunk_bytes)
        .max(video_size_bytes.div_ceil(rules.max_chunk_count));
    let count = video_size_bytes / chunk_size_bytes;
    if count >= 2 {
        return Ok(ChunkPlan {
            video_size_bytes,
            chunk_size_bytes,
            total_chunk_count: count,
        });
    }
    if video_size_bytes <= rules.max_chunk_bytes {
        return Ok(single);
    }
    // Over the chunk maximum but under two preferred chunks: it must still be cut.
    Ok(ChunkPlan {
        video_size_bytes,
        chunk_size_bytes: video_size_bytes / 2,
        total_chunk_count: 2,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The plan passes every reading of the rules and cuts the file into contiguous chunks.
    fn assert_sound(plan: &ChunkPlan) {
        for rules in [ChunkRules::STRICT, ChunkRules::DECIMAL, ChunkRules::BINARY] {
            let checked = rules.check(
                plan.video_size_bytes,
                plan.chunk_size_bytes,
                plan.total_chunk_count,
            );
            assert_eq!(checked, Ok(*plan), "{rules:?}");
        }
        let mut next = 0;
        let mut count = 0;
        for chunk in plan.chunks() {
            assert_eq!(chunk.first_byte, next);
            assert!(chunk.len_bytes > 0);
            if chunk.index + 1 < plan.total_chunk_count {
                assert_eq!(chunk.len_bytes, plan.chunk_size_bytes);
            } else {
                assert!(chunk.len_bytes >= plan.chunk_size_bytes);
                assert!(chunk.len_bytes < 2 * plan.chunk_size_bytes);
            }
            next += chunk.len_bytes;
            count += 1;
        }
        assert_eq!(next, plan.video_size_bytes);
        assert_eq!(count, plan.total_chunk_count);
        assert_eq!(plan.chunk(plan.total_chunk_count), None);
    }

    #[test]
    fn tiktoks_example_is_five_chunks_with_a_long_last_one() {
        let plan = ChunkRules::DECIMAL
            .check(50_000_123, 10_000_000, 5)
            .unwrap();
        assert_eq!(plan.last_chunk_bytes(), 10_000_123);
        let last = plan.chunk(4).unwrap();
        assert_eq!(last.content_range(), "bytes 40000000-50000122/50000123");
        assert_eq!(
            plan.chunk(0).unwrap().content_range(),
            "bytes 0-9999999/50000123"
        );
        // The relay plans the same file the same way.
        assert_eq!(plan, super::plan(50_000_123, 10_000_000).unwrap());
    }

    #[test]
    fn small_files_are_one_chunk_of_their_own_size() {
        for size in [
            1,
            2,
            1000,
            4_999_999,
            5_000_000,
            5 * MIB - 1,
            5 * MIB,
            5 * MIB + 1,
            2 * DEFAULT_CHUNK_BYTES - 1,
        ] {
            let plan = plan(size, DEFAULT_CHUNK_BYTES).unwrap();
            assert_eq!((plan.chunk_size_bytes, plan.total_chunk_count), (size, 1));
            assert_sound(&plan);
        }
    }

    #[test]
    fn files_of_two_chunks_or_more_are_cut_with_the_remainder_last() {
        let two = plan(2 * DEFAULT_CHUNK_BYTES, DEFAULT_CHUNK_BYTES).unwrap();
        assert_eq!(
            (two.chunk_size_bytes, two.total_chunk_count),
            (DEFAULT_CHUNK_BYTES, 2)
        );
        assert_eq!(two.last_chunk_bytes(), DEFAULT_CHUNK_BYTES);
        let odd = plan(12_000_000, 5 * MIB).unwrap();
        assert_eq!((odd.chunk_size_bytes, odd.total_chunk_count), (5 * MIB, 2));
        assert_eq!(odd.last_chunk_bytes(), 12_000_000 - 5 * MIB);
        assert_sound(&odd);
        // A preference under TikTok's minimum is raised to it.
        assert_eq!(plan(12_000_000, 1).unwrap(), odd);
    }

    #[test]
    fn sixty_four_megabyte_boundaries() {
        // With 64 MB chunks asked for: up to 64 MB is one chunk, one byte more must be cut.
        let at = plan(64 * MB, 64 * MB).unwrap();
        assert_eq!(at.total_chunk_count, 1);
        assert_sound(&at);
        let over = plan(64 * MB + 1, 64 * MB).unwrap();
        assert_eq!(
            (over.chunk_size_bytes, over.total_chunk_count),
            (32 * MB, 2)
        );
        assert_eq!(over.last_chunk_bytes(), 32 * MB + 1);
        assert_sound(&over);
        // Exactly two 64 MB chunks, then the remainder in the last.
        let exact = plan(128 * MB, 64 * MB).unwrap();
        assert_eq!(
            (exact.chunk_size_bytes, exact.total_chunk_count),
            (64 * MB, 2)
        );
        assert_eq!(exact.last_chunk_bytes(), 64 * MB);
        assert_sound(&exact);
        let big = plan(6 * 64 * MB + 3, 200 * MB).unwrap();
        assert_eq!((big.chunk_size_bytes, big.total_chunk_count), (64 * MB, 6));
        assert_eq!(big.last_chunk_bytes(), 64 * MB + 3);
        assert_sound(&big);
        // Under the binary reading too (64 MiB is over the strict maximum: cut in two).
        for size in [
            64 * MIB - 1,
            64 * MIB,
            64 * MIB + 1,
            128 * MB,
            128 * MIB + 1,
        ] {
            for preferred in [DEFAULT_CHUNK_BYTES, 64 * MB, 64 * MIB] {
                let p = plan(size, preferred).unwrap();
                assert!(p.total_chunk_count >= 2, "{size} {preferred}");
                assert_sound(&p);
            }
        }
        // With the default size, 64 MB + 1 is six chunks, the last 14 MB + 1.
        let default = plan(64 * MB + 1, DEFAULT_CHUNK_BYTES).unwrap();
        assert_eq!(default.total_chunk_count, 6);
        assert_eq!(default.last_chunk_bytes(), 14 * MB + 1);
    }

    #[test]
    fn the_largest_files_stay_within_a_thousand_chunks() {
        let max = ChunkRules::STRICT.max_video_bytes;
        let p = plan(max, 5 * MIB).unwrap();
        assert!(p.total_chunk_count <= 1000);
        assert_sound(&p);
        assert_eq!(
            plan(max + 1, DEFAULT_CHUNK_BYTES),
            Err(PlanError::TooLarge {
                video_size_bytes: max + 1,
                max_bytes: max
            })
        );
        assert_eq!(plan(0, DEFAULT_CHUNK_BYTES), Err(PlanError::Empty));
    }

    #[test]
    fn every_size_near_every_boundary() {
        let boundaries = [
            5 * MB,
            5 * MIB,
            10 * MB,
            64 * MB,
            64 * MIB,
            128 * MB,
            128 * MIB,
            763 * 5 * MIB,
            800 * 5 * MB,
            ChunkRules::STRICT.max_video_bytes - 2000,
        ];
        for boundary in boundaries {
            for size in boundary - 1000..=boundary + 1000 {
                for preferred in [0, 5 * MB, DEFAULT_CHUNK_BYTES, 64 * MB, u64::MAX] {
                    if size > ChunkRules::STRICT.max_video_bytes {
                        continue;
                    }
                    assert_sound(&plan(size, preferred).unwrap());
                }
            }
        }
    }

    proptest! {
        #[test]
        fn any_size_any_preference(size in 1u64..=ChunkRules::STRICT.max_video_bytes, preferred in any::<u64>()) {
            assert_sound(&plan(size, preferred).unwrap());
        }

        #[test]
        fn the_check_accepts_exactly_the_rules(size in 1u64..300 * MB, chunk in 1u64..200 * MB, count in 0u64..1200) {
            let rules = ChunkRules::STRICT;
            let ok = if size < rules.min_chunk_bytes {
                chunk == size && count == 1
            } else {
                (rules.min_chunk_bytes..=rules.max_chunk_bytes).contains(&chunk)
                    && count == size / chunk
                    && (1..=1000).contains(&count)
                    && (size <= rules.max_chunk_bytes || count >= 2)
                    && (count == 1 || size - (count - 1) * chunk <= rules.max_last_chunk_bytes)
            };
            prop_assert_eq!(rules.check(size, chunk, count).is_ok(), ok);
        }
    }

    #[test]
    fn the_check_names_the_broken_rule() {
        let r = ChunkRules::STRICT;
        assert!(r.check(1000, 500, 2).unwrap_err().contains("one chunk"));
        assert!(r
            .check(50 * MB, 4 * MB, 12)
            .unwrap_err()
            .contains("outside"));
        assert!(r.check(50 * MB, 10 * MB, 4).unwrap_err().contains("floor"));
        assert!(r
            .check(100 * MB, 60 * MB, 1)
            .unwrap_err()
            .contains("several"));
        assert!(r
            .check(4_000 * MB + 1, 10 * MB, 400)
            .unwrap_err()
            .contains("over the"));
        assert!(r.check(0, 0, 0).is_err());
    }
}

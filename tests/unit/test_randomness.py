"""Generated text: reproducible with a seed, uniform and from the OS without one."""

from __future__ import annotations

import random
from collections import Counter

from broker.credentials.randomness import random_text, rng_for


def test_a_seeded_generator_gives_the_text_one_choice_per_character_gives() -> None:
    seeded = random.Random("s/i/b")
    expected = "".join(seeded.choice("abc123") for _ in range(40))
    assert random_text(rng_for("s", "i", "b"), "abc123", 40) == expected


def test_the_os_generator_gives_text_of_the_size_from_the_alphabet() -> None:
    tokens = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    for alphabet in ("0123456789", "0123456789abcdef", tokens):
        for size in (1, 12, 24, 100):
            text = random_text(rng_for(None), alphabet, size)
            assert len(text) == size and set(text) <= set(alphabet)


def test_the_os_generator_draws_every_character_about_equally_often() -> None:
    # 10 does not divide 256: without rejection the first six digits would be favoured.
    counts = Counter(random_text(rng_for(None), "0123456789", 100_000))
    assert set(counts) == set("0123456789")
    assert max(counts.values()) - min(counts.values()) < 1_200

"""Which TOTP codes count: the current 30-second step and its neighbours, nothing further."""

import pyotp

from gateway.identity.two_factor import matching_step

SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
NOW = 1_800_000_015.0  # a fixed instant, 15 s into its step


def test_the_current_and_neighbouring_steps_match_and_say_which_step() -> None:
    totp = pyotp.TOTP(SECRET)
    step = totp.timecode(int(NOW))
    for offset in (-1, 0, 1):
        assert matching_step(SECRET, totp.at(int(NOW), counter_offset=offset), NOW) == step + offset


def test_codes_further_away_and_made_up_ones_do_not_match() -> None:
    totp = pyotp.TOTP(SECRET)
    window = {totp.at(int(NOW), counter_offset=o) for o in (-1, 0, 1)}
    for offset in (-3, 2, 40):
        code = totp.at(int(NOW), counter_offset=offset)
        if code not in window:
            assert matching_step(SECRET, code, NOW) is None
    assert matching_step(SECRET, "12345", NOW) is None

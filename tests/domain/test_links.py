import re

from bot.domain.links import looks_like_code, new_code


def test_codes_are_url_safe_short_and_random() -> None:
    codes = {new_code() for _ in range(2000)}
    assert len(codes) == 2000
    for code in codes:
        assert re.fullmatch(r"[A-Za-z0-9_-]+", code)
        assert len(code) <= 22
        assert len("l_" + code) <= 64
        # base64url carries 6 bits per character
        assert len(code) * 6 >= 64
        assert looks_like_code(code)


def test_looks_like_code() -> None:
    assert looks_like_code("AbC-_0123456789x")
    assert not looks_like_code("")
    assert not looks_like_code("short")
    assert not looks_like_code("a" * 23)
    assert not looks_like_code("has space inside")
    assert not looks_like_code("AbC-_0123456789x\n")
    assert not looks_like_code("../../etc/passwd")
    assert not looks_like_code("ÄbC-_0123456789x")

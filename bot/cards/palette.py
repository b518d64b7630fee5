"""The colours cards and report charts share, so the two look like one brand."""

INK = (29, 33, 41)
MUTED = (134, 144, 156)
ACCENT = (234, 53, 37)
WHITE = (255, 255, 255)

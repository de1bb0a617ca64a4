"""OCR lines back into reading order (qa.ocr.reading_order): columns, blocks, the pieces of a line; and
which pages of a PDF count as scanned. Pure functions on boxes: no model, no PDF."""

from __future__ import annotations

from qa.converters import scanned_pages
from qa.ocr import reading_order, unconfuse

H = 20  # a line's height in pixels


def line(x: float, y: float, text: str, width: float = 400) -> tuple[float, float, float, float, str]:
    return x, y, x + width, y + H, text


def test_two_columns_under_a_full_width_heading_read_column_by_column():
    boxes = [
        line(100, 300, "the ferry carried", 350),
        line(600, 300, "the cargo terminal", 350),
        line(100, 325, "18,400 passengers.", 350),
        line(600, 325, "handled timber.", 350),
        line(100, 100, "Annual report of the harbour board", 850),
    ]
    assert (
        reading_order(boxes)
        == "Annual report of the harbour board\n\nthe ferry carried\n18,400 passengers.\n\nthe cargo terminal\nhandled timber."
    )


def test_a_table_stays_row_by_row_and_pieces_of_a_line_join_left_to_right():
    boxes = [
        line(100, 100, "Project", 80),
        line(600, 100, "Cost", 50),
        line(100, 125, "North quay", 110),
        line(600, 126, "1.1 million pounds", 190),  # a pixel lower: the same line
        line(100, 150, "Lighthouse lamp", 160),
        line(600, 149, "90,000 pounds", 140),
    ]
    assert reading_order(boxes) == "Project Cost\nNorth quay 1.1 million pounds\nLighthouse lamp 90,000 pounds"


def test_paragraphs_are_separated_and_nothing_recognised_is_empty():
    boxes = [line(100, 100, "First paragraph,"), line(100, 125, "its second line."), line(100, 200, "Second paragraph.")]
    assert reading_order(boxes) == "First paragraph,\nits second line.\n\nSecond paragraph."
    assert reading_order([]) == "" and reading_order([line(0, 0, "  ")]) == ""


def test_scanned_pages_are_pictures_with_at_most_a_stamp_of_text():
    header, footer = "Port Elwyn Harbour Board", "Page {}"
    pages = [
        f"{header}\n{'Body text of a real page. ' * 3}\n{footer.format(1)}",
        f"{header}\n{footer.format(2)}",
        f"{header}\n{footer.format(3)}",
        "",
    ]
    # page 1 has text; pages 2 and 3 only the running header and footer over a picture; page 4 is blank (no picture)
    assert scanned_pages(pages, [0.01, 0.01, 0.01, 0.0]) == [1, 2]
    assert scanned_pages(["", "x"], [0.0, 0.0]) == []  # no picture: nothing to read
    stamped = "Port Elwyn Harbour Board - Annual Report, scanned 3 March 2024"  # one page: not seen as running
    assert scanned_pages([stamped], [0.9]) == [0] and scanned_pages([stamped], [0.1]) == []


def test_digits_read_inside_code_words_become_the_letters_they_look_like():
    assert unconfuse("g1p_read_cnfsat writes /usr/1ocal/bin; GLP_N0FEAS") == "glp_read_cnfsat writes /usr/local/bin; GLP_NOFEAS"
    assert unconfuse("MPICH 4.0.2 took 1 s, x1 = 10, 1st of 2024, H2O, B0") == "MPICH 4.0.2 took 1 s, x1 = 10, 1st of 2024, H2O, B0"

"""The personal sample store: validation, schema version, damage, concurrent writers, and a zip
export/import that validates everything before writing anything."""

from __future__ import annotations

import contextlib
import csv
import io
import sqlite3
import subprocess
import sys
import threading
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

import handwritten.data.sample_archive as archive_module
from handwritten.data.preprocess import ImageError, preprocess
from handwritten.data.samples import SCHEMA_VERSION, SampleError, SampleStore
from handwritten.evaluation.styles import seven_segment

REPO = Path(__file__).resolve().parent.parent

# ---------------------------------------------------------------------------------------------
# helpers


def stroke_png(*lines: tuple[int, int, int, int], size: int = 120, width: int = 9) -> bytes:
    """White strokes on black, as a phone photo of a digit after inversion would look."""
    image = Image.new("L", (size, size), 0)
    pen = ImageDraw.Draw(image)
    for line in lines:
        pen.line(line, fill=255, width=width)
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


ONE = stroke_png((60, 15, 60, 105))  # a 1
SEVEN = stroke_png((30, 20, 90, 20), (90, 20, 50, 105))  # a 7: one connected stroke
TWO_DIGITS = stroke_png((15, 20, 15, 100), (105, 20, 105, 100))  # "1 1", far apart
BLANK = stroke_png()


def draw_page_sample(digit: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(canvas RGBA, 28x28) as the Draw page saves a one-digit drawing."""
    canvas = seven_segment(digit, rng)
    return canvas, preprocess(canvas, multi=False).digits[0].centred


def as_u8(image28: np.ndarray) -> np.ndarray:
    return (np.clip(image28, 0, 1) * 255).round().astype(np.uint8)


def make_zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def labels_csv(*rows: tuple[str, str]) -> bytes:
    table = io.StringIO()
    writer = csv.writer(table)
    writer.writerow(["file", "label"])
    writer.writerows(rows)
    return table.getvalue().encode()


@pytest.fixture
def store(tmp_path: Path) -> SampleStore:
    return SampleStore(tmp_path / "store.sqlite3")


# ---------------------------------------------------------------------------------------------
# adding, reading, deleting


def test_default_location_is_under_handwritten_home(isolated_home: Path) -> None:
    assert SampleStore().path == isolated_home / "samples.sqlite3"
    assert SampleStore().path.is_file()


def test_add_list_counts_delete(store: SampleStore) -> None:
    rng = np.random.default_rng(0)
    labels = [3, 3, 7, 0, 9, 3]
    ids = [
        store.add(label, ONE, rng.random((28, 28)), source=f"s{i}")
        for i, label in enumerate(labels)
    ]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    assert store.counts() == [1, 0, 0, 3, 0, 0, 0, 1, 0, 1]
    assert len(store) == 6

    threes = store.samples(label=3)
    assert [s.id for s in threes] == [ids[0], ids[1], ids[5]]
    assert all(s.label == 3 for s in threes)
    assert [s.source for s in store.samples()] == [f"s{i}" for i in range(6)]

    sample_ids, images, array_labels = store.arrays()
    assert sample_ids.tolist() == ids
    assert images.shape == (6, 28, 28) and images.dtype == np.uint8
    assert array_labels.tolist() == labels and array_labels.dtype == np.uint8
    assert store.raw_png(ids[2]) == ONE

    assert store.delete([ids[0], ids[5], 123456]) == 2
    assert store.counts() == [1, 0, 0, 1, 0, 0, 0, 1, 0, 1]
    assert store.delete([]) == 0
    with pytest.raises(SampleError, match="no sample"):
        store.raw_png(ids[0])


def test_empty_store_arrays(store: SampleStore) -> None:
    ids, images, labels = store.arrays()
    assert ids.shape == (0,) and images.shape == (0, 28, 28) and labels.shape == (0,)
    assert images.dtype == np.uint8 and labels.dtype == np.uint8
    assert store.counts() == [0] * 10 and len(store) == 0


@pytest.mark.parametrize("label", [-1, 10, 12, "3", 3.0, None])
def test_labels_outside_0_to_9_refused(store: SampleStore, label: object) -> None:
    with pytest.raises(SampleError, match="digit 0-9"):
        store.add(label, ONE, np.zeros((28, 28)))  # type: ignore[arg-type]
    assert len(store) == 0


def test_add_many_is_all_or_nothing(store: SampleStore) -> None:
    good = (4, ONE, np.zeros((28, 28)), "")
    with pytest.raises(SampleError):
        store.add_many([good, good, (11, ONE, np.zeros((28, 28)), "")])
    with pytest.raises(SampleError, match="28x28"):
        store.add_many([good, (4, ONE, np.zeros((27, 28)), "")])
    assert len(store) == 0
    assert len(store.add_many([good, good])) == 2
    assert store.counts()[4] == 2


def test_float_image_is_stored_as_uint8(store: SampleStore) -> None:
    image = np.random.default_rng(1).random((28, 28)).astype(np.float32)
    image[0, :3] = [-0.5, 1.5, 0.5]  # clipped to [0, 1]
    sample_id = store.add(5, ONE, image)
    (sample,) = store.samples()
    assert sample.id == sample_id and sample.label == 5
    assert sample.image28.dtype == np.uint8 and sample.image28.shape == (28, 28)
    assert np.abs(sample.image28 / 255.0 - np.clip(image, 0, 1)).max() <= 0.5 / 255 + 1e-6
    assert sample.image28[0, :2].tolist() == [0, 255]

    exact = np.arange(784, dtype=np.uint8).reshape(28, 28)  # uint8 is stored untouched
    store.add(6, ONE, exact)
    assert np.array_equal(store.samples(label=6)[0].image28, exact)


def test_raw_canvas_array_is_stored_as_png(store: SampleStore) -> None:
    canvas, image28 = draw_page_sample(8, np.random.default_rng(2))
    sample_id = store.add(8, canvas, image28, source="draw")
    decoded = np.asarray(Image.open(io.BytesIO(store.raw_png(sample_id))))
    assert np.array_equal(decoded, canvas)
    assert np.array_equal(store.samples()[0].image28, as_u8(image28))


def test_add_image_one_digit(store: SampleStore) -> None:
    sample_id = store.add_image(1, ONE, source="one.png")
    (sample,) = store.samples()
    assert sample.id == sample_id and sample.label == 1 and sample.source == "one.png"
    assert np.array_equal(sample.image28, as_u8(preprocess(ONE).digits[0].centred))
    assert store.raw_png(sample_id) == ONE
    store.add_image(7, SEVEN)
    assert store.counts()[7] == 1


def test_add_image_refuses_no_digit_or_two(store: SampleStore) -> None:
    with pytest.raises(SampleError, match=r"blank\.png: expected one digit, found no digit"):
        store.add_image(1, BLANK, source="blank.png")
    with pytest.raises(SampleError, match="expected one digit, found 2 digits"):
        store.add_image(1, TWO_DIGITS)
    assert len(store) == 0


def test_add_image_refuses_a_non_image_naming_it(store: SampleStore) -> None:
    with pytest.raises(SampleError, match=r"notes\.txt: this is not an image") as info:
        store.add_image(1, b"hello, not a picture", source="notes.txt")
    assert isinstance(info.value.__cause__, ImageError)
    assert len(store) == 0


# ---------------------------------------------------------------------------------------------
# the file: schema version, newer versions, damage


def user_version(path: Path) -> int:
    with contextlib.closing(sqlite3.connect(path)) as db:
        return int(db.execute("PRAGMA user_version").fetchone()[0])


def test_schema_version_is_recorded(store: SampleStore) -> None:
    assert SCHEMA_VERSION >= 1
    assert user_version(store.path) == SCHEMA_VERSION
    store.add(2, ONE, np.zeros((28, 28)))
    again = SampleStore(store.path)  # reopening keeps the data
    assert again.counts()[2] == 1 and user_version(store.path) == SCHEMA_VERSION


def test_newer_schema_is_refused(store: SampleStore) -> None:
    with contextlib.closing(sqlite3.connect(store.path)) as db:
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(SampleError, match=r"newer handwritten .*upgrade") as info:
        SampleStore(store.path)
    assert str(store.path) in str(info.value)
    assert f"schema {SCHEMA_VERSION + 1}" in str(info.value)


def test_damaged_file_gives_sample_error(tmp_path: Path) -> None:
    path = tmp_path / "samples.sqlite3"
    path.write_bytes(np.random.default_rng(3).bytes(8192))
    with pytest.raises(SampleError, match="damaged") as info:
        SampleStore(path)
    assert not isinstance(info.value, sqlite3.Error)
    assert str(path) in str(info.value)


def test_store_damaged_after_opening_gives_sample_error(store: SampleStore) -> None:
    store.add(1, ONE, np.zeros((28, 28)))
    store.path.write_bytes(b"\0" * 100 + np.random.default_rng(4).bytes(8192))
    for path in store.path.parent.glob("*-wal"):
        path.unlink()
    for operation in (store.counts, store.samples, lambda: store.add(1, ONE, np.zeros((28, 28)))):
        with pytest.raises(SampleError, match="damaged"):
            operation()


def test_unopenable_path_gives_sample_error(tmp_path: Path) -> None:
    folder = tmp_path / "a-folder.sqlite3"
    folder.mkdir()
    with pytest.raises(SampleError, match="cannot open the sample store"):
        SampleStore(folder)


# ---------------------------------------------------------------------------------------------
# concurrent writers


def run_at_once(script: str, argvs: list[list[str]]) -> None:
    """Start one process per argv, let them all begin together, and check they all succeed."""
    with contextlib.ExitStack() as stack:
        processes = [
            stack.enter_context(
                subprocess.Popen(
                    [sys.executable, "-c", script, *argv],
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    text=True,
                    cwd=REPO,
                )
            )
            for argv in argvs
        ]
        for process in processes:  # every process is imported and waiting...
            assert process.stdout is not None
            assert process.stdout.readline() == "ready\n"
        for process in processes:  # ...then all start at once
            assert process.stdin is not None
            process.stdin.write("go\n")
            process.stdin.flush()
        for process in processes:
            out, err = process.communicate(timeout=120)
            assert process.returncode == 0, err
            assert out == "done\n"


WRITER = """
import sys
import numpy as np
from handwritten.data.samples import SampleStore

path, worker, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
raw = bytes.fromhex(sys.argv[4])
print("ready", flush=True)
assert sys.stdin.readline() == "go\\n"
store = SampleStore(path)  # the first writers also race to create the file
for i in range(count):
    image = np.full((28, 28), worker * 10 + i % 10, np.uint8)
    store.add(i % 10, raw, image, source=f"worker{worker}-{i}")
print("done", flush=True)
"""


@pytest.mark.parametrize("store_exists", [True, False], ids=["existing-store", "new-store"])
def test_concurrent_processes_lose_nothing(tmp_path: Path, store_exists: bool) -> None:
    path = tmp_path / "shared" / "samples.sqlite3"
    if store_exists:
        SampleStore(path)
    workers, per_worker = 4, 50
    run_at_once(WRITER, [[str(path), str(w), str(per_worker), ONE.hex()] for w in range(workers)])
    store = SampleStore(path)
    assert len(store) == workers * per_worker
    assert store.counts() == [workers * per_worker // 10] * 10
    every = store.samples()
    assert len({s.id for s in every}) == workers * per_worker
    assert {s.source for s in every} == {
        f"worker{w}-{i}" for w in range(workers) for i in range(per_worker)
    }
    for sample in every:  # each row is whole: label and image from the same add()
        worker = int(sample.source.split("-")[0].removeprefix("worker"))
        assert sample.image28[0, 0] == worker * 10 + sample.label


def test_concurrent_threads_lose_nothing(tmp_path: Path) -> None:
    path = tmp_path / "samples.sqlite3"
    threads, per_thread = 6, 30
    barrier = threading.Barrier(threads)
    errors: list[BaseException] = []

    def write(worker: int) -> None:
        try:
            barrier.wait()
            store = SampleStore(path)
            for i in range(per_thread):
                if i % 3 == 0:
                    store.add_many([(i % 10, ONE, np.zeros((28, 28)), f"t{worker}")] * 2)
                else:
                    store.add(i % 10, ONE, np.zeros((28, 28)), f"t{worker}")
        except BaseException as exc:
            errors.append(exc)

    pool = [threading.Thread(target=write, args=(w,)) for w in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    assert errors == []
    expected = threads * (per_thread + per_thread // 3)
    assert len(SampleStore(path)) == expected


# ---------------------------------------------------------------------------------------------
# export and import


def filled_store(path: Path) -> SampleStore:
    """Draw-page samples (canvas arrays, seven-segment strokes) plus image files."""
    store = SampleStore(path)
    rng = np.random.default_rng(5)
    drawn = []
    for digit in range(10):
        for _ in range(3):
            canvas, image28 = draw_page_sample(digit, rng)
            drawn.append((digit, canvas, image28, "draw"))
    store.add_many(drawn)
    store.add_image(1, ONE, source="one.png")
    store.add_image(7, SEVEN, source="seven.png")
    return store


def test_export_import_round_trip(tmp_path: Path) -> None:
    original = filled_store(tmp_path / "a.sqlite3")
    path = tmp_path / "export" / "samples.zip"
    data = original.export_zip(path)
    assert path.read_bytes() == data
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        names = set(archive.namelist())
        table = list(csv.DictReader(io.StringIO(archive.read("labels.csv").decode())))
    assert "labels.csv" in names and len(table) == len(original) == 32
    assert {row["file"] for row in table} <= names

    # Drawings saved as one digit that preprocessing would now split (separate strokes): the
    # export restores their own 28x28 instead of preprocessing the raw image again.
    drawn = [s.id for s in original.samples() if s.source == "draw"]
    assert any(len(preprocess(original.raw_png(i)).digits) > 1 for i in drawn)

    fresh = SampleStore(tmp_path / "b.sqlite3")
    assert fresh.import_zip(data) == 32
    assert fresh.counts() == original.counts()
    before, after = original.samples(), fresh.samples()
    assert [s.label for s in after] == [s.label for s in before]
    assert [s.source for s in after] == [s.source for s in before]
    for old, new in zip(before, after, strict=True):
        assert np.array_equal(new.image28, old.image28), old.source
    for old_id, new_id in zip(original.arrays()[0], fresh.arrays()[0], strict=True):
        assert fresh.raw_png(int(new_id)) == original.raw_png(int(old_id))

    again = fresh.import_archive(fresh.export_zip())  # the same samples again: nothing new
    assert (again.added, again.duplicates) == (0, 32)
    assert fresh.counts() == original.counts()


def test_import_of_a_handmade_archive_preprocesses_the_images(store: SampleStore) -> None:
    data = make_zip(
        {
            "labels.csv": labels_csv(("digits/one.png", "1"), ("seven.png", " 7 ")),
            "digits/one.png": ONE,
            "seven.png": SEVEN,
        }
    )
    assert store.import_zip(data) == 2
    one, seven = store.samples()
    assert (one.label, one.source) == (1, "digits/one.png")
    assert (seven.label, seven.source) == (7, "seven.png")
    for sample, raw in ((one, ONE), (seven, SEVEN)):
        expected = as_u8(preprocess(raw).digits[0].centred)
        assert np.corrcoef(sample.image28.ravel(), expected.ravel())[0, 1] > 0.95
        assert np.array_equal(sample.image28, expected)


def test_handmade_labels_csv_in_any_column_order_without_source(store: SampleStore) -> None:
    data = make_zip({"labels.csv": b"label,file\r\n4,x.png\r\n", "x.png": ONE})
    assert store.import_zip(data) == 1
    assert store.samples()[0].source == "x.png" and store.counts()[4] == 1


BAD_ARCHIVES: dict[str, tuple[Callable[[], bytes], str]] = {
    "not a zip": (lambda: b"PK but not really a zip archive", "not a zip archive"),
    "empty file": (lambda: b"", "not a zip archive"),
    "no labels.csv": (lambda: make_zip({"one.png": ONE}), "no labels.csv"),
    "no file/label columns": (
        lambda: make_zip({"labels.csv": b"name,digit\none.png,1\n", "one.png": ONE}),
        "columns file,label",
    ),
    "empty labels.csv": (lambda: make_zip({"labels.csv": b""}), "columns file,label"),
    "labels.csv not utf-8": (
        lambda: make_zip({"labels.csv": b"file,label\n\xff\xfe.png,1\n"}),
        "labels.csv is unreadable",
    ),
    "label x on line 3": (
        lambda: make_zip(
            {
                "labels.csv": labels_csv(("one.png", "1"), ("seven.png", "x")),
                "one.png": ONE,
                "seven.png": SEVEN,
            }
        ),
        "labels.csv line 3: label 'x' is not a digit",
    ),
    "label 12 on line 3": (
        lambda: make_zip(
            {
                "labels.csv": labels_csv(("one.png", "1"), ("seven.png", "12")),
                "one.png": ONE,
                "seven.png": SEVEN,
            }
        ),
        "labels.csv line 3: label '12' is not a digit",
    ),
    "empty label": (
        lambda: make_zip({"labels.csv": labels_csv(("one.png", "")), "one.png": ONE}),
        "labels.csv line 2: label '' is not a digit",
    ),
    "missing file": (
        lambda: make_zip(
            {"labels.csv": labels_csv(("one.png", "1"), ("gone.png", "7")), "one.png": ONE}
        ),
        "labels.csv line 3: gone.png is not in the archive",
    ),
    "not an image": (
        lambda: make_zip(
            {
                "labels.csv": labels_csv(("one.png", "1"), ("junk.png", "2")),
                "one.png": ONE,
                "junk.png": b"this is text",
            }
        ),
        "junk.png: this is not an image",
    ),
    "empty image": (
        lambda: make_zip({"labels.csv": labels_csv(("zero.png", "1")), "zero.png": b""}),
        "zero.png: the file is empty",
    ),
    "truncated image": (
        lambda: make_zip({"labels.csv": labels_csv(("cut.png", "1")), "cut.png": ONE[:60]}),
        "cut.png: ",
    ),
    "two digits": (
        lambda: make_zip(
            {
                "labels.csv": labels_csv(("one.png", "1"), ("11.png", "1")),
                "one.png": ONE,
                "11.png": TWO_DIGITS,
            }
        ),
        "11.png: expected one digit, found 2",
    ),
    "blank image": (
        lambda: make_zip({"labels.csv": labels_csv(("blank.png", "0")), "blank.png": BLANK}),
        "blank.png: expected one digit, found 0",
    ),
}


def genuine_export(**changes: bytes | None) -> bytes:
    """An archive made by `export_zip` from two Draw-page samples, with members replaced (or
    removed, for None)."""
    home_store = SampleStore()  # the test's own HANDWRITTEN_HOME, not the `store` under test
    rng = np.random.default_rng(6)
    home_store.add_many([(d, *draw_page_sample(d, rng), "draw") for d in (4, 8)])
    with zipfile.ZipFile(io.BytesIO(home_store.export_zip())) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    assert len(members) == 5, members.keys()
    for name, data in changes.items():
        member = next(m for m in sorted(members) if m.startswith(name))
        if data is None:
            del members[member]
        else:
            members[member] = data
    return make_zip(members)


def small_png(size: tuple[int, int]) -> bytes:
    buffer = io.BytesIO()
    Image.new("L", size, 0).save(buffer, "PNG")
    return buffer.getvalue()


def replace_in_labels(old: str, new: str) -> bytes:
    with zipfile.ZipFile(io.BytesIO(genuine_export())) as archive:
        table = archive.read("labels.csv").decode()
        members = {name: archive.read(name) for name in archive.namelist()}
    assert old in table
    members["labels.csv"] = table.replace(old, new, 1).encode()
    return make_zip(members)


BAD_ARCHIVES.update(
    {
        "export: 28x28 image missing": (
            lambda: genuine_export(mnist=None),
            "labels.csv line 2: mnist/",
        ),
        "export: 28x28 image of another size": (
            lambda: genuine_export(mnist=small_png((28, 27))),
            "expected a 28x28 image, not 28x27",
        ),
        "export: 28x28 image not an image": (
            lambda: genuine_export(mnist=b"GIF89a but no"),
            "this is not an image",
        ),
        "export: raw image not an image": (lambda: genuine_export(raw=b"\x89PNG broken"), "raw/"),
        "export: unsafe 28x28 name": (
            lambda: replace_in_labels(",mnist/", ",../mnist/"),
            "unsafe file name '../mnist/",
        ),
    }
)

UNSAFE_NAMES = ["../evil.png", "/abs.png", "a\\b.png", "C:x.png", "raw/../../evil.png"]
for _name in UNSAFE_NAMES:
    BAD_ARCHIVES[f"member {_name}"] = (
        lambda name=_name: make_zip(
            {
                "labels.csv": labels_csv(("one.png", "1")),
                "one.png": ONE,
                name: ONE,
            }
        ),
        "unsafe file name",
    )
    BAD_ARCHIVES[f"labels.csv row {_name}"] = (
        lambda name=_name: make_zip(
            {
                "labels.csv": labels_csv(("one.png", "1"), (name, "1")),
                "one.png": ONE,
            }
        ),
        "unsafe file name",
    )


@pytest.mark.parametrize("case", list(BAD_ARCHIVES))
def test_bad_archive_is_refused_and_nothing_is_imported(store: SampleStore, case: str) -> None:
    store.add(3, ONE, np.full((28, 28), 0.5))
    before = store.arrays()
    build, message = BAD_ARCHIVES[case]
    with pytest.raises(SampleError) as info:
        store.import_zip(build())
    assert message in str(info.value)
    assert "\n" not in str(info.value)
    after = store.arrays()
    assert len(store) == 1 and store.counts() == [0, 0, 0, 1, 0, 0, 0, 0, 0, 0]
    for old, new in zip(before, after, strict=True):
        assert np.array_equal(old, new)


def test_archive_over_the_size_limit(store: SampleStore, monkeypatch: pytest.MonkeyPatch) -> None:
    data = make_zip({"labels.csv": labels_csv(("one.png", "1")), "one.png": ONE})
    monkeypatch.setattr(archive_module, "MAX_IMPORT_BYTES", len(data) - 1)
    with pytest.raises(SampleError, match="archive is larger than"):
        store.import_zip(data)
    monkeypatch.setattr(archive_module, "MAX_IMPORT_BYTES", len(data))
    assert store.import_zip(data) == 1


def test_archive_that_unpacks_to_too_much(
    store: SampleStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = make_zip(
        {
            "labels.csv": labels_csv(("one.png", "1")),
            "one.png": ONE,
            "padding.bin": bytes(1_000_000),
        }
    )
    assert len(data) < 20_000
    monkeypatch.setattr(archive_module, "MAX_IMPORT_BYTES", 100_000)
    with pytest.raises(SampleError, match="unpacks to too much"):
        store.import_zip(data)
    assert len(store) == 0


def test_archive_with_too_many_files(store: SampleStore, monkeypatch: pytest.MonkeyPatch) -> None:
    members = {"labels.csv": labels_csv(("one.png", "1")), "one.png": ONE, "extra.txt": b""}
    monkeypatch.setattr(archive_module, "MAX_IMPORT_FILES", 2)
    with pytest.raises(SampleError, match="more than 2 files"):
        store.import_zip(make_zip(members))
    assert len(store) == 0


def test_a_version_1_store_is_upgraded_and_its_samples_recognised(tmp_path: Path) -> None:
    """Stores from before the digest column gain it, filled in for the samples they hold."""
    path = tmp_path / "old.sqlite3"
    with contextlib.closing(sqlite3.connect(path)) as db:
        db.executescript(
            "CREATE TABLE samples (id INTEGER PRIMARY KEY AUTOINCREMENT, label INTEGER NOT NULL,"
            " created REAL NOT NULL, source TEXT NOT NULL DEFAULT '', raw_png BLOB NOT NULL,"
            " image28 BLOB NOT NULL); PRAGMA user_version = 1;"
        )
        image28 = as_u8(preprocess(ONE).digits[0].centred).tobytes()
        db.execute("INSERT INTO samples (label, created, source, raw_png, image28) VALUES "
                   "(1, 0, 'one.png', ?, ?)", (ONE, image28))  # fmt: skip
        db.commit()
    assert SampleStore(path, read_only=True).counts()[1] == 1  # readable as it is
    assert user_version(path) == 1, "a read-only store is never upgraded"
    store = SampleStore(path)
    assert user_version(store.path) == SCHEMA_VERSION
    archive = make_zip({"labels.csv": labels_csv(("one.png", "1")), "one.png": ONE})
    assert store.import_archive(archive).duplicates == 1 and len(store) == 1

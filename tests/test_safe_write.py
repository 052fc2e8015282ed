"""Files the course writes never silently replace what a user wrote."""

from lora_course.authoring.safe_write import write_keeping_old


def test_new_file_is_written_without_backup(tmp_path):
    assert write_keeping_old(tmp_path / "grades.csv", "a,b\n") is None
    assert (tmp_path / "grades.csv").read_text() == "a,b\n"


def test_same_content_makes_no_backup(tmp_path):
    write_keeping_old(tmp_path / "g.csv", "x\n")
    assert write_keeping_old(tmp_path / "g.csv", "x\n") is None
    assert [p.name for p in tmp_path.iterdir()] == ["g.csv"]


def test_changed_content_is_kept_aside(tmp_path):
    path = tmp_path / "grades.csv"
    path.write_text("student,recall\nana,2  # entered by hand\n")
    kept = write_keeping_old(path, "student,recall\nana,\n")
    assert kept is not None and "entered by hand" in kept.read_text()
    assert path.read_text() == "student,recall\nana,\n"
    again = write_keeping_old(path, "student,recall\nana,1\n")
    assert again != kept and again.exists(), "a second backup in the same second gets its own name"


def test_backup_folder(tmp_path):
    (tmp_path / "fb").mkdir()
    (tmp_path / "fb" / "ana.md").write_text("old")
    kept = write_keeping_old(tmp_path / "fb" / "ana.md", "new", backup_dir=tmp_path / "fb" / "previous")
    assert kept.parent.name == "previous" and kept.read_text() == "old"


def test_a_planted_symlink_is_replaced_never_written_through(tmp_path):
    target = tmp_path / "root_owned.txt"
    target.write_text("precious")
    link = tmp_path / "grades.csv"
    link.symlink_to(target)
    assert write_keeping_old(link, "a,b\n") is None, "a link is not backed up (its target is not ours)"
    assert target.read_text() == "precious" and not link.is_symlink() and link.read_text() == "a,b\n"
    dangling = tmp_path / "fb.md"
    dangling.symlink_to(tmp_path / "does-not-exist-yet")
    write_keeping_old(dangling, "x")
    assert not (tmp_path / "does-not-exist-yet").exists() and dangling.read_text() == "x"


def test_a_folder_through_another_users_symlink_is_refused(tmp_path):
    import os

    import pytest

    from lora_course.authoring.safe_write import UnsafePath, make_folder

    (tmp_path / "elsewhere").mkdir()
    link = tmp_path / "planted"
    link.symlink_to(tmp_path / "elsewhere")
    with pytest.raises(UnsafePath, match="symlink"):
        make_folder(link)
    if os.geteuid() == 0:
        os.lchown(link, 54321, 54321)
        with pytest.raises(UnsafePath, match="owned by uid 54321"):
            write_keeping_old(link / "grades.csv", "a\n")
        assert not (tmp_path / "elsewhere" / "grades.csv").exists()

"""`bootstrap update` core: three-way merge of template v1 -> v2 into an edited generated repo."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from bootstrap import __version__
from bootstrap import update as update_mod
from bootstrap.errors import TargetExistsError, UserError
from bootstrap.update import template_info, update
from tests.bootstrap.update.conftest import (
    USER_FUNCTION,
    build_template,
    commit_all,
    edit_with_conflict,
    edit_without_overlap,
    generate,
    git,
    snapshot,
    v1_files,
    v2_files,
)


def answers(repo: Path) -> dict[str, object]:
    return yaml.safe_load((repo / ".copier-answers.yml").read_text())


def test_update_keeps_edits_applies_template_changes_and_marks_conflicts(
    generated: Path, template_v1_v2: Path
) -> None:
    edit_without_overlap(generated)
    edit_with_conflict(generated)
    (generated / "app" / "mine.py").write_text("MINE = 1\n")
    commit_all(generated, "user edits")
    head = git(generated, "rev-parse", "HEAD")

    result = update(generated, template_repo=template_v1_v2)

    assert (result.old, result.new, result.status) == ("v1.0.0", "v2.0.0", "conflicts")
    # No overlap: the template's change and the user's change are both there.
    main = (generated / "app" / "main.py").read_text()
    assert 'GREETING = "hello from v2"' in main
    assert main.endswith(USER_FUNCTION)
    # Same lines: marked in the file, reported, and unmerged in the index.
    assert result.conflicts == ["infra/__main__.py"]
    infra = (generated / "infra" / "__main__.py").read_text()
    assert "<<<<<<< before updating" in infra and ">>>>>>> after updating" in infra
    assert 'SIZE = "large"' in infra and 'SIZE = "medium"' in infra
    assert git(generated, "diff", "--name-only", "--diff-filter=U") == "infra/__main__.py"
    # The template's added and removed files, the user's own file untouched.
    assert (generated / "app" / "NEW_IN_V2.md").is_file()
    assert not (generated / "app" / "retired.txt").exists()
    assert (generated / "app" / "mine.py").read_text() == "MINE = 1\n"
    changes = {c.path: c.change for c in result.changes}
    assert changes["app/NEW_IN_V2.md"] == "added"
    assert changes["app/retired.txt"] == "deleted"
    assert changes["app/main.py"] == "modified"
    assert "app/mine.py" not in changes
    # The answers record the new template version and tool version; nothing was committed.
    recorded = answers(generated)
    assert recorded["_commit"] == "v2.0.0"
    assert recorded["_src_path"] == str(template_v1_v2)
    assert recorded["tool_version"] == __version__
    assert recorded["project_name"] == "shop"
    assert git(generated, "rev-parse", "HEAD") == head
    assert result.commit is None


def test_clean_update_is_left_for_review_or_committed_with_commit(
    tmp_path: Path, template_v1_v2: Path
) -> None:
    for name, commit in (("review", False), ("commit", True)):
        repo = generate(template_v1_v2, "v1.0.0", tmp_path / name)
        edit_without_overlap(repo)
        commit_all(repo, "user edit")
        head = git(repo, "rev-parse", "HEAD")

        result = update(repo, template_repo=template_v1_v2, commit=commit)

        assert result.conflicts == []
        assert 'GREETING = "hello from v2"' in (repo / "app" / "main.py").read_text()
        assert (repo / "app" / "main.py").read_text().endswith(USER_FUNCTION)
        if commit:
            assert result.status == "committed"
            assert git(repo, "rev-parse", "HEAD") == result.commit != head
            assert git(repo, "status", "--porcelain", "--untracked-files=all") == ""
            assert git(repo, "log", "-1", "--format=%s") == (
                f"Update template v1.0.0 to v2.0.0 (bootstrap {__version__})"
            )
        else:
            assert result.status == "updated"
            assert git(repo, "rev-parse", "HEAD") == head
            status = git(repo, "status", "--porcelain", "--untracked-files=all")
            assert " M app/main.py" in status and "?? app/NEW_IN_V2.md" in status


def test_dirty_tree_is_refused_untouched(generated: Path, template_v1_v2: Path) -> None:
    edit_without_overlap(generated)  # uncommitted
    (generated / "notes.txt").write_text("untracked\n")
    before = snapshot(generated)

    with pytest.raises(TargetExistsError, match="uncommitted changes"):
        update(generated, template_repo=template_v1_v2)

    assert snapshot(generated) == before


def test_untracked_file_alone_makes_the_tree_dirty(generated: Path, template_v1_v2: Path) -> None:
    (generated / "scratch.txt").write_text("x\n")
    before = snapshot(generated)
    with pytest.raises(TargetExistsError):
        update(generated, template_repo=template_v1_v2)
    assert snapshot(generated) == before


def test_dry_run_shows_the_diff_and_changes_nothing(generated: Path, template_v1_v2: Path) -> None:
    edit_without_overlap(generated)
    edit_with_conflict(generated)
    commit_all(generated, "user edits")
    before = snapshot(generated)

    result = update(generated, template_repo=template_v1_v2, dry_run=True)

    assert snapshot(generated) == before
    assert result.status == "dry-run"
    assert result.conflicts == ["infra/__main__.py"]
    assert '+GREETING = "hello from v2"' in result.diff
    assert "+_commit: v2.0.0" in result.diff
    assert "<<<<<<< before updating" in result.diff
    assert result.to_json()["diff"] == result.diff


def test_up_to_date_and_downgrade(generated: Path, template_v1_v2: Path) -> None:
    before = snapshot(generated)
    result = update(generated, template_repo=template_v1_v2, to="1.0.0")
    assert result.status == "up-to-date"
    assert snapshot(generated) == before

    update(generated, template_repo=template_v1_v2, commit=True)
    with pytest.raises(UserError, match="downgrades are not supported"):
        update(generated, template_repo=template_v1_v2, to="v1.0.0")


def test_unknown_version_names_the_available_ones(generated: Path, template_v1_v2: Path) -> None:
    with pytest.raises(UserError, match=r"v9\.9\.9 is not available.*v1\.0\.0, v2\.0\.0"):
        update(generated, template_repo=template_v1_v2, to="9.9.9")


def test_a_failing_template_leaves_the_repo_as_it_was(tmp_path: Path) -> None:
    broken = v2_files()
    broken["app/main.py.jinja"] = "[[ project_name \n"  # a Jinja syntax error
    template = build_template(tmp_path / "t", [("v1.0.0", v1_files()), ("v2.0.0", broken)])
    repo = generate(template, "v1.0.0", tmp_path / "shop")
    edit_without_overlap(repo)
    commit_all(repo, "user edit")
    before = snapshot(repo)

    with pytest.raises(UserError, match="nothing was changed"):
        update(repo, template_repo=template)

    assert snapshot(repo) == before


def test_a_failure_after_applying_restores_every_touched_path(
    generated: Path, template_v1_v2: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    edit_with_conflict(generated)
    commit_all(generated, "user edit")
    before = snapshot(generated)
    real_run = update_mod._run

    def failing_run(cwd: Path, *args: str, **kwargs: object) -> bytes:
        if args[0] == "update-index":
            raise UserError("simulated failure")
        return real_run(cwd, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(update_mod, "_run", failing_run)
    with pytest.raises(UserError, match="simulated failure"):
        update(generated, template_repo=template_v1_v2)

    assert snapshot(generated) == before


def test_old_version_is_rebuilt_from_the_pristine_first_commit(tmp_path: Path) -> None:
    """A teammate's machine: the template repo that generated the repo is gone."""
    old_source = build_template(tmp_path / "old-source", [("v1.0.0", v1_files())])
    repo = generate(old_source, "v1.0.0", tmp_path / "shop")
    shutil.rmtree(old_source)
    only_v2 = build_template(tmp_path / "only-v2", [("v2.0.0", v2_files())])
    edit_without_overlap(repo)
    edit_with_conflict(repo)
    commit_all(repo, "user edits")

    result = update(repo, template_repo=only_v2)

    assert result.old_source == "repo-history"
    assert result.conflicts == ["infra/__main__.py"]
    main = (repo / "app" / "main.py").read_text()
    assert 'GREETING = "hello from v2"' in main and main.endswith(USER_FUNCTION)
    assert not (repo / "app" / "retired.txt").exists()
    assert answers(repo)["_commit"] == "v2.0.0"


def test_a_rewritten_first_commit_is_not_trusted_as_the_base(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    old_source = build_template(tmp_path / "old-source", [("v1.0.0", v1_files())])
    repo = generate(old_source, "v1.0.0", tmp_path / "shop")
    shutil.rmtree(old_source)
    edit_without_overlap(repo)  # folded into the first commit: it is no longer pristine
    git(repo, "add", "--all")
    monkeypatch.setenv("GIT_COMMITTER_DATE", "2030-01-01T00:00:00Z")
    git(repo, "commit", "--quiet", "--amend", "--no-edit")
    monkeypatch.delenv("GIT_COMMITTER_DATE")
    only_v2 = build_template(tmp_path / "only-v2", [("v2.0.0", v2_files())])
    before = snapshot(repo)

    with pytest.raises(UserError, match="not available on this machine"):
        update(repo, template_repo=only_v2)
    assert snapshot(repo) == before


def test_template_info_reports_the_recorded_versions(generated: Path) -> None:
    info = template_info(generated)
    assert info["template"] == "v1.0.0"
    assert info["template_version"] == "1.0.0"
    assert info["tool_version"] == "0.1.0"
    assert info["installed_tool_version"] == __version__
    assert info["update_available"] is False  # 1.0.0 is newer than this tool's 0.1.0


def test_a_failed_commit_leaves_the_repo_as_it_was(
    generated: Path, template_v1_v2: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    edit_without_overlap(generated)
    commit_all(generated, "user edit")
    before = snapshot(generated)
    real_git = update_mod.git

    def failing_git(cwd: Path, *args: str, **kwargs: object) -> str:
        if args[0] == "commit" and cwd == generated:
            raise UserError("simulated commit failure")
        return real_git(cwd, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(update_mod, "git", failing_git)
    with pytest.raises(UserError, match="simulated commit failure"):
        update(generated, template_repo=template_v1_v2, commit=True)

    assert snapshot(generated) == before


def test_a_generated_repo_inside_a_larger_repository(tmp_path: Path, template_v1_v2: Path) -> None:
    mono = tmp_path / "mono"
    (mono / "services").mkdir(parents=True)
    (mono / "README.md").write_text("monorepo\n")
    repo = generate(template_v1_v2, "v1.0.0", mono / "services" / "shop")
    shutil.rmtree(repo / ".git")
    git(mono, "init", "--quiet", "--initial-branch=main")
    edit_without_overlap(repo)
    commit_all(mono, "monorepo with a generated service")

    result = update(repo, template_repo=template_v1_v2, commit=True)

    assert result.status == "committed"
    changed = {c.path for c in result.changes}
    assert "services/shop/app/NEW_IN_V2.md" in changed
    assert all(path.startswith("services/shop/") for path in changed)
    main = (repo / "app" / "main.py").read_text()
    assert 'GREETING = "hello from v2"' in main and main.endswith(USER_FUNCTION)
    assert git(mono, "status", "--porcelain", "--untracked-files=all") == ""


def test_up_to_date_needs_no_clean_tree(generated: Path, template_v1_v2: Path) -> None:
    (generated / "scratch.txt").write_text("work in progress\n")
    assert update(generated, template_repo=template_v1_v2, to="1.0.0").status == "up-to-date"

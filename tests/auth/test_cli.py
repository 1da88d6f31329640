"""`flask --app app users create` makes accounts non-interactively."""

from core.auth.operations import authenticate


def test_create_user_reads_password_from_stdin(runner):
    result = runner.invoke(args=["users", "create", "Ann@Example.com", "--role", "read-only"],
                           input="s3cret-password\n")
    assert result.exit_code == 0, result.output
    user = authenticate("ann@example.com", "s3cret-password")
    assert user is not None and user.role.label == "Read Only"


def test_create_user_reads_password_from_env(runner, monkeypatch):
    monkeypatch.setenv("TIDINGS_PASSWORD", "another-secret")
    result = runner.invoke(args=["users", "create", "bob@example.com", "--role", "admin"])
    assert result.exit_code == 0, result.output
    assert authenticate("bob@example.com", "another-secret").role.name == "ADMIN"


def test_create_user_refuses_bad_input(runner):
    short = runner.invoke(args=["users", "create", "c@example.com"], input="short\n")
    assert short.exit_code != 0 and "at least 12" in short.output
    bad_role = runner.invoke(args=["users", "create", "d@example.com", "--role", "boss"],
                             input="long-enough-pass\n")
    assert bad_role.exit_code != 0 and "unknown role" in bad_role.output
    runner.invoke(args=["users", "create", "e@example.com"], input="long-enough-pass\n")
    dup = runner.invoke(args=["users", "create", "E@example.com"], input="long-enough-pass\n")
    assert dup.exit_code != 0 and "already exists" in dup.output

from __future__ import annotations

import json
import random
import string
from pathlib import Path

import pytest

from vaultsync import secretscan
from vaultsync.secretscan import Finding, scan

SAMPLES = Path(__file__).parent / "fixtures" / "samples"

# Fake credentials are built here from a prefix and seeded random characters,
# so this file holds no contiguous realistic token for other scanners to flag
# and every run plants the same values.
_RNG = random.Random(20260126)
_ALNUM = string.ascii_letters + string.digits
_UPPER_DIGITS = string.ascii_uppercase + string.digits
_URLSAFE = _ALNUM + "-_"
_HEX = "0123456789abcdef"


def _random(length: int, alphabet: str = _ALNUM) -> str:
    return "".join(_RNG.choice(alphabet) for _ in range(length))


def _digits(length: int) -> str:
    return _random(length, string.digits)


def _dashed(*parts: str) -> str:
    return "-".join(parts)


def _pem() -> str:
    body = "\n".join(_random(64, _ALNUM + "+/") for _ in range(4))
    return "-----BEGIN RSA " + "PRIVATE KEY-----\n" + body + "\n-----END RSA " + "PRIVATE KEY-----"


FAKES: dict[str, tuple[str, str]] = {
    "aws id": ("AWS access key", "AK" + "IA" + _random(16, _UPPER_DIGITS)),
    "aws sts id": ("AWS access key", "AS" + "IA" + _random(16, _UPPER_DIGITS)),
    "aws secret": (
        "AWS secret key",
        "export AWS_SECRET_ACCESS_KEY=" + _random(40, _ALNUM + "/+"),
    ),
    "github ghp": ("GitHub token", "gh" + "p_" + _random(36)),
    "github gho": ("GitHub token", "gh" + "o_" + _random(36)),
    "github ghu": ("GitHub token", "gh" + "u_" + _random(36)),
    "github ghs": ("GitHub token", "gh" + "s_" + _random(36)),
    "github ghr": ("GitHub token", "gh" + "r_" + _random(36)),
    "github fine-grained": ("GitHub token", "github" + "_pat_" + _random(22) + "_" + _random(59)),
    "openai legacy": ("OpenAI API key", "sk" + "-" + _random(48)),
    "openai project": ("OpenAI API key", "sk" + "-proj-" + _random(156, _URLSAFE)),
    "anthropic": ("Anthropic API key", "sk" + "-ant-api03-" + _random(93, _URLSAFE) + "AA"),
    "slack bot": ("Slack token", _dashed("xo" + "xb", _digits(12), _digits(13), _random(24))),
    "slack user": (
        "Slack token",
        _dashed("xo" + "xp", _digits(12), _digits(12), _digits(13), _random(32, _HEX)),
    ),
    "slack legacy": ("Slack token", _dashed("xo" + "xa", _digits(10), _random(30))),
    "slack app": (
        "Slack token",
        _dashed("xa" + "pp", "1", "A" + _random(10, _UPPER_DIGITS), _digits(13), _random(64, _HEX)),
    ),
    "slack webhook": (
        "Slack webhook URL",
        "/".join(
            [
                "https://hooks.slack" + ".com/services",
                "T" + _random(8, _UPPER_DIGITS),
                "B" + _random(10, _UPPER_DIGITS),
                _random(24),
            ]
        ),
    ),
    "google": ("Google API key", "AI" + "za" + _random(35, _URLSAFE)),
    "private key": ("private key block", _pem()),
}


def _jsonl(*records: object) -> bytes:
    return b"".join(json.dumps(record).encode() + b"\n" for record in records)


def _memory_with(secret: str) -> dict[str, object]:
    return {"type": "entity", "name": "deploy", "observations": [f"user pasted {secret} here"]}


PLAIN = {"type": "entity", "name": "Ada", "observations": ["prefers concise answers"]}


@pytest.mark.parametrize("name", FAKES)
def test_each_kind_is_found_on_its_line_in_json_lines(name: str) -> None:
    kind, secret = FAKES[name]
    data = _jsonl(PLAIN, PLAIN, _memory_with(secret), PLAIN)

    assert scan(data) == [Finding(3, kind)]


@pytest.mark.parametrize("name", FAKES)
def test_each_kind_is_found_in_pretty_printed_json(name: str) -> None:
    kind, secret = FAKES[name]
    text = json.dumps({"memories": [PLAIN, _memory_with(secret), PLAIN]}, indent=2)
    line = next(n for n, row in enumerate(text.splitlines(), 1) if "user pasted" in row)

    assert scan(text.encode()) == [Finding(line, kind)]


@pytest.mark.parametrize("name", FAKES)
def test_a_finding_never_shows_the_secret(name: str) -> None:
    _, secret = FAKES[name]
    random_tail = secret[-16:]

    (finding,) = scan(_jsonl(_memory_with(secret)))

    for shown in (str(finding), repr(finding)):
        assert random_tail not in shown


def test_a_finding_reads_as_line_and_kind() -> None:
    assert str(Finding(3, "GitHub token")) == "line 3: GitHub token"


def test_secrets_on_several_lines_are_reported_in_line_order() -> None:
    _, github = FAKES["github ghp"]
    _, google = FAKES["google"]
    data = _jsonl(PLAIN, _memory_with(github), PLAIN, PLAIN, _memory_with(google))

    assert scan(data) == [Finding(2, "GitHub token"), Finding(5, "Google API key")]


def test_a_secret_in_a_large_single_line_export_is_on_line_1() -> None:
    _, secret = FAKES["anthropic"]
    embedding = [round(_RNG.uniform(-1, 1), 6) for _ in range(1536)]
    memories = [{"id": str(n), "embedding": embedding} for n in range(50)]
    data = json.dumps({"memories": memories, "note": secret}).encode()

    assert scan(data) == [Finding(1, "Anthropic API key")]


def test_a_token_right_after_an_escaped_newline_is_found() -> None:
    _, secret = FAKES["openai legacy"]
    data = _jsonl({"observations": ["the key:\n" + secret]})

    assert scan(data) == [Finding(1, "OpenAI API key")]


def test_a_key_in_json_stored_as_a_string_is_found() -> None:
    tool_result = json.dumps({"api_key": _random(32)})
    data = _jsonl(PLAIN, {"type": "tool_result", "content": tool_result})

    assert scan(data) == [Finding(2, "api_key field")]


def test_a_webhook_with_json_escaped_slashes_is_found() -> None:
    _, url = FAKES["slack webhook"]
    data = b'{"note": "' + url.replace("/", "\\/").encode() + b'"}'

    assert scan(data) == [Finding(1, "Slack webhook URL")]


def test_a_token_under_a_credential_key_is_reported_once() -> None:
    _, key = FAKES["openai project"]
    data = _jsonl(
        {"OPENAI_API_KEY": key},
        {"password": _random(16)},
        {"aws_secret_access_key": _random(40, _ALNUM + "/+")},
    )

    assert scan(data) == [
        Finding(1, "OpenAI API key"),
        Finding(2, "password field"),
        Finding(3, "AWS secret key"),
    ]


@pytest.mark.parametrize(
    ("key", "kind"),
    [
        ("password", "password field"),
        ("DB_PASSWORD", "password field"),
        ("passwd", "password field"),
        ("secret", "secret field"),
        ("clientSecret", "secret field"),
        ("client_secret", "secret field"),
        ("token", "token field"),
        ("access_token", "token field"),
        ("refreshToken", "token field"),
        ("api_key", "api_key field"),
        ("apiKey", "api_key field"),
        ("x-api-key", "api_key field"),
    ],
)
def test_a_credential_field_with_a_random_value_is_found(key: str, kind: str) -> None:
    data = _jsonl(PLAIN, {"service": "billing", key: _random(20, _ALNUM + "!@#%")})

    assert scan(data) == [Finding(2, kind)]


@pytest.mark.parametrize(
    "value",
    [
        "",
        "***",
        "********",
        "<redacted>",
        "REDACTED",
        "[REDACTED]",
        "changeme",
        "${DB_PASSWORD}",
        "$DB_PASSWORD",
        "{{vault_db_password}}",
        "xxxxxxxxxxxxxxxx",
        "XXXX-XXXX-XXXX",
        "your-password-here",
        "DB_PASSWORD",
        "not set",
    ],
)
def test_a_password_field_with_a_placeholder_is_clean(value: str) -> None:
    assert scan(_jsonl({"user": "ada", "password": value})) == []


def test_a_short_password_is_not_reported() -> None:
    # Documented in the module: under 8 characters a value is as likely a word
    # ("bearer", "enabled") as a password.
    assert scan(_jsonl({"password": "hunter2"})) == []


@pytest.mark.parametrize(
    "record",
    [
        {"hash": "093052bc569dc5d99e0b060af30280e9", "memory": "Prefers Python"},
        {"id": "21636369-8b52-9b4a-97b7-50923ceb3ffd"},
        {"commit": "f3012ad8c2b7f1e0d6a9a3e4b5c6d7e8f9a0b1c2", "ref": "main"},
        {"embedding": [0.2697, -0.7361, 0.0464, 4.825e-05] * 400},
        {"created_at": "2025-10-10T09:00:00.000000-07:00", "updated_at": None},
        {"token_type": "bearer", "max_tokens": 4096, "tokens": [1, 2, 3]},
        {"tokenizer": "cl100k_base", "secret_type": "AWS Access Key"},
        {"content": "Use sk-learn-compatible-estimators for the task-management-system"},
        {"content": "The file starts with -----BEGIN " + "PRIVATE KEY----- and ends..."},
        {"content": "The AWS docs use AKIA" + "IOSFODNN7EXAMPLE as the key id"},
        {"aws_secret_access_key": "wJalrXUtnFEMI/K7MDENG" + "/bPxRfiCYEXAMPLEKEY"},
        {"token": "${GITHUB_TOKEN}", "note": "ghp_" + "x" * 36},
        {"content": "the hooks.slack.com/services/... URL goes in the config"},
    ],
)
def test_normal_memory_content_is_clean(record: dict[str, object]) -> None:
    assert scan(_jsonl(PLAIN, record)) == []


@pytest.mark.parametrize("path", sorted(p for p in SAMPLES.rglob("*") if p.is_file()))
def test_the_sample_memory_files_are_clean(path: Path) -> None:
    assert scan(path.read_bytes()) == []


def test_binary_junk_does_not_raise() -> None:
    junk = _RNG.randbytes(1_000_000)

    assert isinstance(scan(junk), list)


def test_a_secret_among_invalid_utf8_is_still_found() -> None:
    _, secret = FAKES["github fine-grained"]
    data = b"\xff\xfe\xc3(\n" + b'{"note": "' + secret.encode() + b'"}\n'

    assert scan(data) == [Finding(2, "GitHub token")]


def test_redaction_covers_each_secret_and_keeps_json_valid() -> None:
    key = "sk-" + "ant-api03-" + _random(60)
    body = _random(200)
    pem = "-----BEGIN RSA PRIVATE KEY-----\n" + body + "\n-----END RSA PRIVATE KEY-----"
    lines = [
        json.dumps({"text": f"my key is {key}, keep it", "password": "Xy7kP2qLm9zR4w"}),
        json.dumps({"note": "tail", "k": pem}),
    ]
    data = "\n".join(lines).encode()
    found = secretscan.spans(data)
    assert [s.code for s in found] == ["anthropic", "password", "private_key"]
    clean = secretscan.redact(data, found)
    assert key.encode() not in clean and body[:40].encode() not in clean
    docs = [json.loads(line) for line in clean.splitlines()]
    assert docs[0] == {
        "text": "my key is [REDACTED:anthropic], keep it",
        "password": "[REDACTED:password]",
    }
    assert docs[1] == {"note": "tail", "k": "[REDACTED:private_key]"}
    assert secretscan.scan(clean) == []  # the placeholder is no secret

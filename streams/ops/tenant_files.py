"""A tenant's configuration file, read from disk and validated by the pure rules."""

from __future__ import annotations

from pathlib import Path

from streams.domain.tenant_config import TenantConfig, file_format, parse_tenant_text, unreadable

__all__ = ["load_tenant_file"]


def load_tenant_file(path: Path) -> TenantConfig:
    """Read and validate a YAML (.yaml, .yml) or TOML (.toml) configuration file."""
    source = str(path)
    file_format(source)  # an unknown type is named before the file is read
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise unreadable(source, exc) from exc
    return parse_tenant_text(text, source=source)

"""All configuration, in one place: the ``SECRET_INJECTOR_*`` settings and the platform fallbacks.

This module is the only reader of those variables (identity variables such as ``MSI_ENDPOINT`` stay
azure-identity's business). ``Settings.from_environ(mapping)`` reads any mapping, not only ``os.environ``, so
the library can resolve an environment it was handed.
"""

from __future__ import annotations

import contextvars
import re
from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import AliasChoices, Field, ValidationError, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from ._clouds import CLOUDS, Cloud
from ._exceptions import ConfigurationError

__all__ = ["Settings"]

PREFIX = "SECRET_INJECTOR_"
_WORKSPACE_ID = re.compile(
    r"^/subscriptions/[^/]+/resourceGroups/[^/]+/providers/Microsoft\.MachineLearningServices/workspaces/[^/]+$",
    re.IGNORECASE,
)
_ENVIRON: contextvars.ContextVar[Mapping[str, str]] = contextvars.ContextVar("_ENVIRON")


class _MappingSource(EnvSettingsSource):
    """pydantic-settings' environment source, reading a mapping we are given instead of ``os.environ``."""

    def __init__(self, settings_cls: type[BaseSettings], environ: Mapping[str, str]) -> None:
        self._environ = environ
        super().__init__(settings_cls)

    def _load_env_vars(self) -> Mapping[str, str | None]:
        return {k.lower(): v for k, v in self._environ.items()}


class Settings(BaseSettings):
    """Runtime settings. Each field is read from ``SECRET_INJECTOR_<FIELD>`` unless its alias says otherwise."""

    model_config = SettingsConfigDict(env_prefix=PREFIX, extra="ignore", case_sensitive=False)

    workspace_id: str | None = Field(
        default=None, description="ARM id of the workspace that owns the connections."
    )
    # Fallbacks set on Azure ML compute; combined into a workspace id when workspace_id is unset.
    arm_subscription: str | None = Field(default=None, validation_alias="AZUREML_ARM_SUBSCRIPTION")
    arm_resource_group: str | None = Field(default=None, validation_alias="AZUREML_ARM_RESOURCEGROUP")
    arm_workspace_name: str | None = Field(default=None, validation_alias="AZUREML_ARM_WORKSPACE_NAME")

    client_id: str | None = Field(
        default=None,
        validation_alias=AliasChoices(f"{PREFIX}CLIENT_ID", "UAI_CLIENT_ID", "DEFAULT_IDENTITY_CLIENT_ID"),
        description="Client id of a user-assigned managed identity.",
    )
    credential: Literal["auto", "managed", "workload", "developer"] = "auto"
    cloud: Literal["AzureCloud", "AzureChinaCloud", "AzureUSGovernment"] = "AzureCloud"
    timeout: float = Field(default=60.0, gt=0, le=3600, description="Overall deadline in seconds.")
    concurrency: int = Field(default=16, ge=1, le=256, description="Requests in flight at once.")
    optional: Annotated[frozenset[str], NoDecode] = Field(default=frozenset())
    log_format: Literal["text", "json"] = "text"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        environ = _ENVIRON.get(None)
        if environ is None:
            return (init_settings, env_settings)
        return (init_settings, _MappingSource(settings_cls, environ))

    @field_validator("optional", mode="before")
    @classmethod
    def _split_names(cls, value: Any) -> Any:
        if isinstance(value, str):
            return frozenset(name.strip() for name in value.split(",") if name.strip())
        return value

    @field_validator("workspace_id")
    @classmethod
    def _check_workspace_id(cls, value: str | None) -> str | None:
        if value is not None and not _WORKSPACE_ID.match(value.strip()):
            raise ValueError(
                "expected /subscriptions/<sub>/resourceGroups/<rg>/providers/"
                "Microsoft.MachineLearningServices/workspaces/<name>"
            )
        return value.strip() if value else None

    @model_validator(mode="after")
    def _fill_workspace_id(self) -> Settings:
        parts = (self.arm_subscription, self.arm_resource_group, self.arm_workspace_name)
        if self.workspace_id is None and all(parts):
            sub, rg, ws = parts
            self.workspace_id = (
                f"/subscriptions/{sub}/resourceGroups/{rg}"
                f"/providers/Microsoft.MachineLearningServices/workspaces/{ws}"
            )
        return self

    @property
    def cloud_info(self) -> Cloud:
        return CLOUDS[self.cloud]

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read the settings from ``environ`` (default ``os.environ``); raise ConfigurationError if invalid."""
        token = _ENVIRON.set(environ) if environ is not None else None
        try:
            return cls()
        except ValidationError as exc:
            raise ConfigurationError(_describe(exc)) from None
        finally:
            if token is not None:
                _ENVIRON.reset(token)


def _describe(exc: ValidationError) -> str:
    """One line per bad setting, naming the variable and what it accepts (the value itself is not shown)."""
    lines = []
    for error in exc.errors():
        field = str(error["loc"][0]) if error["loc"] else "?"
        info = Settings.model_fields.get(field)
        alias = info.validation_alias if info else None
        if isinstance(alias, AliasChoices):
            name = str(alias.choices[0])
        elif isinstance(alias, str):
            name = alias
        else:
            name = PREFIX + field.upper()
        lines.append(f"{name}: {error['msg']}")
    return "invalid setting: " + "; ".join(lines)

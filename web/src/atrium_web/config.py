from __future__ import annotations

from pydantic import Field, SecretStr

from platform_core.config import PlatformSettings


class WebSettings(PlatformSettings):
    web_host: str = "127.0.0.1"
    web_port: int = Field(default=8000, ge=0, le=65535)
    # The gateway's REST API: the only thing the web unit talks to.
    web_gateway_url: str = "http://127.0.0.1:8080"
    # Key of the encrypted session cookie (it holds the user's tokens): no default, at least 32 characters.
    web_session_secret: SecretStr = Field(min_length=32)
    # Cookies marked Secure (sent over TLS only); unset: in production only.
    web_secure_cookies: bool | None = None
    # How long a signed-in browser keeps its session cookie without use.
    web_session_max_age_seconds: int = Field(default=30 * 86_400, ge=300)
    web_gateway_timeout_seconds: float = Field(default=10.0, gt=0, le=120)

    def secure_cookies(self) -> bool:
        return self.env == "production" if self.web_secure_cookies is None else self.web_secure_cookies

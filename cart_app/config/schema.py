"""The configuration schema: every setting, its type, default and meaning.

Each field's ``description`` is the documentation: ``smartcart config-doc`` renders
``docs/configuration.md`` from it and a test keeps the two in step. Models forbid unknown keys
and are strict about types, so a typo or a quoted number is an error rather than a silent default.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

PositiveSeconds = Annotated[float, Field(gt=0, le=3600)]
Grams = Annotated[float, Field(ge=0, le=100_000)]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class PathsConfig(_Section):
    data_dir: str = Field(
        "var",
        description="Folder for the ledger, the catalog database and logs; relative paths are "
        "taken from the config file's folder.",
    )
    catalog_json: str = Field(
        "",
        description="Catalog JSON imported at start when the database is empty or older than "
        "the file; empty means the bundled demo store.",
    )
    layout_json: str = Field(
        "", description="Store layout JSON for the map; empty means the bundled demo store."
    )


class StoreConfig(_Section):
    mode: Literal["embedded", "http"] = Field(
        "embedded",
        description="`embedded`: the bundled demo store without a network; `http`: the store "
        "API at `base_url`.",
    )
    base_url: str = Field("http://127.0.0.1:8765", description="Store API root URL.")
    api_key: str = Field("", description="This cart's API key for the store API.")
    connect_timeout_s: PositiveSeconds = Field(3.0, description="TCP connect timeout per call.")
    read_timeout_s: PositiveSeconds = Field(10.0, description="Response timeout per call.")
    retry_backoff_initial_s: PositiveSeconds = Field(
        0.5, description="First retry delay for idempotent calls; doubles with jitter."
    )
    retry_backoff_max_s: PositiveSeconds = Field(30.0, description="Longest retry delay.")
    total_timeout_s: PositiveSeconds = Field(
        30.0, description="Whole-call deadline, so a server that drips bytes is cut off."
    )
    retry_total: int = Field(3, ge=0, le=10, description="Retries of an idempotent call.")
    ca_bundle: str = Field("", description="CA bundle for the store's TLS (empty: system CAs).")
    client_cert_file: str = Field("", description="Client certificate (PEM) for mutual TLS.")
    client_key_file: str = Field("", description="Private key of the client certificate.")
    allow_plain_http: bool = Field(
        False, description="Allow `http://` to a non-loopback host (never on a real cart)."
    )
    max_catalog_bytes: int = Field(
        32 * 1024 * 1024, ge=1024, description="Largest catalog download accepted."
    )
    token_ttl_s: PositiveSeconds = Field(
        900.0, description="How long a basket token (the exit QR code) stays valid."
    )
    catalog_sync_interval_s: PositiveSeconds = Field(
        300.0, description="How often the cart asks the store for catalog changes."
    )
    heartbeat_interval_s: PositiveSeconds = Field(
        60.0, description="How often the cart sends health telemetry."
    )
    payment_wait_s: PositiveSeconds = Field(
        20.0, description="Long-poll wait for the payment status after a handoff."
    )
    cart_key_file: str = Field(
        "cart_key.pem", description="This cart's Ed25519 signing key inside `data_dir` (0600)."
    )
    outbox_file: str = Field(
        "store_outbox.sqlite3", description="Durable outbox of handoffs and telemetry."
    )
    catalog_cache_file: str = Field(
        "store_catalog.sqlite3", description="Cache of the store's catalog for offline use."
    )
    layout_file: str = Field("store_layout.json", description="Synced store layout.")


class ScaleConfig(_Section):
    driver: Literal["simulator", "serial", "none"] = Field(
        "simulator",
        description="`simulator`: the built-in scale simulator behind a real pty (at `url`, "
        "or `scale-sim.pty` in `data_dir`); `serial`: a real device at `url`; `none`: no scale "
        "(barcode and touch only, for tools and tests).",
    )
    url: str = Field(
        "",
        description="pyserial URL of the scale (`/dev/ttyUSB0`, `socket://host:port`, "
        "`loop://`, `rfc2217://…`); empty with the simulator means a pty it creates.",
    )
    protocol: Literal["cartboard", "mt-sics", "toledo-8217", "nci", "continuous"] = Field(
        "cartboard", description="Wire protocol spoken by the scale."
    )
    baudrate: int = Field(115200, ge=300, le=921600, description="Serial speed in baud.")
    read_timeout_s: PositiveSeconds = Field(
        0.5, description="A read that returns nothing for this long counts as a silent scale."
    )
    silent_timeout_s: PositiveSeconds = Field(
        2.0, description="No valid frame for this long moves the scale to `degraded`."
    )
    reconnect_backoff_initial_s: PositiveSeconds = Field(
        0.5, description="First delay before reopening an unplugged scale."
    )
    reconnect_backoff_max_s: PositiveSeconds = Field(
        10.0, description="Cap of the doubling reconnect delay."
    )
    settle_time_s: PositiveSeconds = Field(
        0.4, description="A plateau must hold this long to count as a settled weight."
    )
    stable_tolerance_g: Grams = Field(
        2.0, description="Samples within this band of their mean form a plateau."
    )
    min_change_g: Grams = Field(
        3.0, description="Settled changes smaller than this are drift, not an item."
    )
    zero_tracking_band_g: Grams = Field(
        1.0, description="Slow drift inside this band around zero is tracked away."
    )
    capacity_g: Grams = Field(30_000.0, description="Weight above this reports overload.")
    calibration_file: str = Field(
        "scale-calibration.json",
        description="Per-cell calibration of the cart board (inside `data_dir` unless absolute), "
        "written by `smartcart scale calibrate`; without it the simulator's calibration applies.",
    )
    sim_seed: int = Field(0, ge=0, description="Random seed of the scale simulator.")


class CameraConfig(_Section):
    id: str = Field(description="Camera name used in logs, recordings and evidence.")
    source: str = Field(
        description="`webcam:N`, a device path, `file:PATH` (video), `folder:PATH` (images), "
        "or `synthetic`."
    )
    width: int = Field(640, ge=64, le=4096, description="Requested frame width in pixels.")
    height: int = Field(480, ge=48, le=4096, description="Requested frame height in pixels.")
    fps: float = Field(15.0, gt=0, le=120, description="Requested frame rate.")
    roi: tuple[float, float, float, float] = Field(
        (0.0, 0.0, 1.0, 1.0),
        description="Basket opening as (x, y, w, h) fractions of the frame.",
    )
    reconnect_backoff_max_s: PositiveSeconds = Field(
        10.0,
        ge=0.25,
        description="Cap of the doubling delay before reopening a lost camera (at least the "
        "first delay, 0.25 s).",
    )


class VisionConfig(_Section):
    motion_threshold: float = Field(
        0.02, gt=0, le=1, description="Fraction of ROI pixels that must change to wake vision."
    )
    motion_idle_s: PositiveSeconds = Field(
        1.0, description="Vision sleeps again after this long without motion."
    )
    recognition_top_k: int = Field(5, ge=1, le=20, description="Candidates kept per crop.")
    unknown_threshold: float | None = Field(
        None,
        gt=0,
        lt=1,
        description="Below this gallery similarity an item is `unknown`; empty means the "
        "threshold calibrated for the model (in its manifest: 0.55 for grocery-embed-v1).",
    )
    frame_budget_s: PositiveSeconds = Field(
        0.25, description="Most time recognition may spend on one frame."
    )
    barcode_agreement_frames: int = Field(
        2, ge=1, le=10, description="Frames that must agree before a barcode is accepted."
    )
    barcode_time_budget_s: PositiveSeconds = Field(
        0.06,
        description="Most time the barcode reader spends on one frame before it gives up on "
        "harder views (rotations, upscaled and deblurred crops).",
    )


class FusionConfig(_Section):
    pairing_window_s: PositiveSeconds = Field(
        3.0, description="An observation and a weight change this close in time are paired."
    )
    prompt_timeout_s: PositiveSeconds = Field(
        45.0, description="How long a prompt waits for the shopper before staff are flagged."
    )
    min_confirm_probability: float = Field(
        0.97,
        gt=0,
        lt=1,
        description="Posterior needed to confirm without asking. Between look-alike packs of "
        "one weight the posterior is the camera's word alone; 0.97 is where the trip benchmark "
        "measured no wrong silent charge (docs/fusion.md).",
    )
    default_weight_tolerance_g: Grams = Field(
        10.0, description="Weight tolerance for products whose catalog entry gives none."
    )
    weight_tolerance_ratio: float = Field(
        0.01,
        ge=0,
        le=1,
        description="Extra tolerance (a ±3σ band) as a fraction of the expected weight: pack "
        "variation the catalog tolerance misses and the load cells' proportional error.",
    )
    observation_grace_s: float = Field(
        1.0,
        ge=0,
        le=60,
        description="How long an undecided weight change waits for a late observation before "
        "the cart asks; a decisive one is charged at once.",
    )
    count_grace_s: float = Field(
        0.0,
        ge=0,
        le=60,
        description="How long a quantity counted by the weight alone (several units seen as "
        "one) waits for a late observation of another item before it is charged. The cameras "
        "report an item before the scale settles (measured: 0.12-0.52 s before, every add of "
        "the trip benchmark), so 0 unless a camera reports late.",
    )
    scale_sigma_g: float = Field(
        1.5, gt=0, le=100, description="Standard deviation of a settled weight change, in g."
    )
    fit_sigmas: float = Field(
        3.0, gt=0, le=10, description="A weight fits when within this many combined σ."
    )
    tolerance_sigmas: float = Field(
        3.0, gt=0, le=10, description="A catalog weight tolerance is read as this many σ."
    )
    label_weight_tolerance_g: Grams = Field(
        15.0, description="Band between a weight label's printed net weight and the reading."
    )
    vision_veto_probability: float = Field(
        0.3,
        gt=0,
        lt=1,
        description="A recogniser candidate this likely, seen going the change's way, must be "
        "in a silently charged outcome (else the cart asks: a possible swap).",
    )
    max_units_per_change: int = Field(
        12, ge=1, le=100, description="Most units of one product searched for per weighing."
    )
    staff_prompt_timeout_s: PositiveSeconds = Field(
        600.0, description="Deadline of the staff prompt that follows a timed-out prompt."
    )


class PricingConfig(_Section):
    weight_increment_g: int = Field(
        1, ge=1, le=50, description="Legal-for-trade division: per-kg weights round to this."
    )
    budget_cap_cents: int | None = Field(
        None, ge=0, description="Optional spending cap; the shopper is warned near and over it."
    )
    budget_warn_ratio_bp: int = Field(
        9000, ge=0, le=10000, description="Warn when the total reaches this share of the cap."
    )


class VariableMeasureLayout(_Section):
    prefixes: tuple[Annotated[str, Field(pattern=r"^(02|2[0-9])$")], ...] = Field(
        description="GS1 restricted-circulation prefixes (`02`, `20`–`29`) with this layout."
    )
    item_digits: int = Field(5, ge=1, le=9, description="Digits of the item reference.")
    value_digits: int = Field(5, ge=1, le=9, description="Digits of the embedded value.")
    value_kind: Literal["weight_g", "price_cents"] = Field(
        "weight_g", description="What the embedded value means: grams or cents."
    )
    has_value_check_digit: bool = Field(
        False, description="Whether a value check digit precedes a 4- or 5-digit value."
    )

    @model_validator(mode="after")
    def _fills_the_code(self) -> VariableMeasureLayout:
        used = self.item_digits + self.value_digits + int(self.has_value_check_digit)
        if used != VARIABLE_MEASURE_PAYLOAD_DIGITS:
            raise ValueError(
                f"item_digits + value_digits + check digit = {used}; an EAN-13 has "
                f"{VARIABLE_MEASURE_PAYLOAD_DIGITS} digits between prefix and check digit"
            )
        return self


VARIABLE_MEASURE_PAYLOAD_DIGITS = 10


class VariableMeasureConfig(_Section):
    layouts: tuple[VariableMeasureLayout, ...] = Field(
        (
            VariableMeasureLayout(
                prefixes=tuple(str(p) for p in range(20, 30)), value_kind="weight_g"
            ),
            VariableMeasureLayout(
                prefixes=("02",),
                item_digits=5,
                value_digits=4,
                value_kind="price_cents",
                has_value_check_digit=True,
            ),
        ),
        description="The store's weight/price-embedded barcode layouts (one "
        "`[[variable_measure.layouts]]` table each); by default 20–29 carry grams and 02 a "
        "price with its check digit. No two layouts may share a prefix.",
    )

    @model_validator(mode="after")
    def _prefixes_unique(self) -> VariableMeasureConfig:
        seen: set[str] = set()
        for layout in self.layouts:
            twice = seen & set(layout.prefixes)
            if twice:
                raise ValueError(f"prefixes {sorted(twice)} appear in two layouts")
            seen |= set(layout.prefixes)
        return self


class LedgerConfig(_Section):
    file_name: str = Field("ledger.sqlite3", description="Ledger file inside `data_dir`.")


class UiConfig(_Section):
    enabled: bool = Field(True, description="Open the Kivy touchscreen (off: headless).")
    fullscreen: bool = Field(False, description="Fill the screen (on the cart).")
    language: str = Field("en", description="Initial language of the shopper screens.")
    large_text: bool = Field(False, description="Start in large text mode.")
    multisamples: int = Field(
        0,
        ge=0,
        le=8,
        description="Multisample antialiasing of the window (samples per pixel, 0 off). The "
        "screens are rectangles and text, which need none; 2 smooths the map's slanted route "
        "lines and costs a software-OpenGL laptop more than twice the time per frame.",
    )


class MaintenanceConfig(_Section):
    auto_lock_s: PositiveSeconds = Field(
        120.0, description="Maintenance mode locks itself after this long without input."
    )
    pin_hash: str = Field(
        "",
        description="Salted scrypt hash of the staff PIN (`python -m ui.staff_auth PIN` prints "
        "one); empty on the laptop profile means the development PIN 0000, on a cart it "
        "disables PIN unlock (badges only).",
    )
    badge_public_keys: tuple[str, ...] = Field(
        (),
        description="The store's staff badge public keys (Ed25519, raw 32 bytes as 64 hex "
        "digits; `smartcart store-admin badge-key` prints one). A signed badge (`SB1:`) that "
        "one of them verifies unlocks maintenance offline until it expires.",
    )

    @field_validator("badge_public_keys")
    @classmethod
    def _hex_keys(cls, keys: tuple[str, ...]) -> tuple[str, ...]:
        for key in keys:
            try:
                raw = bytes.fromhex(key)
            except ValueError:
                raw = b""
            if len(raw) != 32:
                raise ValueError(f"badge key {key[:16]!r}… is not 64 hex digits (32 bytes)")
        return keys


class PrivacyConfig(_Section):
    keep_evidence_crops: bool = Field(
        False,
        description="Keep basket-region crops of the items that went in, as evidence for "
        "disputed lines (never whole frames; they never leave the cart). Off: no image is kept.",
    )
    evidence_retention_days: float = Field(
        0.0,
        ge=0,
        le=90,
        description="Days a finished trip's crops are kept for disputes; 0 deletes them the "
        "moment the trip ends.",
    )


class EngineConfig(_Section):
    inbox_poll_s: PositiveSeconds = Field(
        0.1, description="How often the engine wakes to expire prompts when idle."
    )
    stop_timeout_s: PositiveSeconds = Field(
        5.0, description="How long stopping waits for the engine to finish its inbox."
    )


class CartConfig(_Section):
    """The whole configuration file."""

    profile: Literal["laptop", "cart"] = Field(
        "laptop",
        description="`laptop`: webcam or replay camera, simulated scale, demo store; `cart`: "
        "the real devices. The profile's defaults apply under this file's values.",
    )
    cart_id: str = Field("cart-dev", min_length=1, description="This cart's id in the store.")
    paths: PathsConfig = Field(default_factory=PathsConfig)
    store: StoreConfig = Field(default_factory=StoreConfig)
    scale: ScaleConfig = Field(default_factory=ScaleConfig)
    cameras: tuple[CameraConfig, ...] = Field(
        (), description="The basket cameras (one `[[cameras]]` table each)."
    )
    vision: VisionConfig = Field(default_factory=VisionConfig)
    fusion: FusionConfig = Field(default_factory=FusionConfig)
    pricing: PricingConfig = Field(default_factory=PricingConfig)
    variable_measure: VariableMeasureConfig = Field(default_factory=VariableMeasureConfig)
    ledger: LedgerConfig = Field(default_factory=LedgerConfig)
    ui: UiConfig = Field(default_factory=UiConfig)
    maintenance: MaintenanceConfig = Field(default_factory=MaintenanceConfig)
    privacy: PrivacyConfig = Field(default_factory=PrivacyConfig)
    engine: EngineConfig = Field(default_factory=EngineConfig)

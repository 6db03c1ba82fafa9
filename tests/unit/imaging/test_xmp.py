"""read_preset()/write_xmp(): Lightroom XMP presets in every shape they come in, the safety
refusals, and round trips through the sidecar writer. All fixtures are written here."""

from __future__ import annotations

import pytest

from lampyris.errors import InvalidParameterError
from lampyris.imaging.tone_settings import ToneSettings
from lampyris.imaging.xmp import MAX_PRESET_SIZE, Preset, read_preset, write_xmp

NS = (
    'xmlns:x="adobe:ns:meta/" '
    'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" '
    'xmlns:crs="http://ns.adobe.com/camera-raw-settings/1.0/"'
)


def _xmp(attributes: str = "", elements: str = "") -> str:
    """A Lightroom-shaped preset: crs: attributes and child elements on one Description."""
    return (
        f'<x:xmpmeta {NS}><rdf:RDF><rdf:Description rdf:about="" {attributes}>'
        f"{elements}</rdf:Description></rdf:RDF></x:xmpmeta>"
    )


def _name(*items: str) -> str:
    lis = "".join(items)
    return f"<crs:Name><rdf:Alt>{lis}</rdf:Alt></crs:Name>"


def _seq(name: str, *items: str) -> str:
    lis = "".join(f"<rdf:li>{item}</rdf:li>" for item in items)
    return f"<crs:{name}><rdf:Seq>{lis}</rdf:Seq></crs:{name}>"


def _refused(text: str | bytes, *fragments: str) -> None:
    with pytest.raises(InvalidParameterError) as info:
        read_preset(text)
    for fragment in fragments:
        assert fragment in str(info.value)


# --- shapes --------------------------------------------------------------------------------


def test_attribute_form() -> None:
    preset = read_preset(_xmp(
        'crs:Version="15.4" crs:ProcessVersion="15.4" crs:Exposure2012="+0.50" '
        'crs:Contrast2012="-12" crs:Vibrance="+25" crs:PostCropVignetteAmount="-30" '
        'crs:LuminanceSmoothing="10" crs:ColorNoiseReduction="25" crs:WhiteBalance="Daylight"'
    ))
    assert preset == Preset(None, {
        "exposure": 0.5, "contrast": -12.0, "white_balance": "Daylight", "vibrance": 25.0,
        "vignette": -30.0, "noise_reduction": 10.0, "color_noise_reduction": 25.0,
    }, [])
    assert list(preset.settings) == [f for f in ToneSettings.model_fields if f in preset.settings]


def test_element_form() -> None:
    preset = read_preset(_xmp(elements=(
        "<crs:Exposure2012>+0.50</crs:Exposure2012>"
        "<crs:Highlights2012> -40 </crs:Highlights2012>"
        "<crs:Clarity2012>+15</crs:Clarity2012>"
        "<crs:SharpenRadius>+1.2</crs:SharpenRadius>"
        "<crs:SharpenEdgeMasking>60</crs:SharpenEdgeMasking>"
    )))
    assert preset.settings == {
        "exposure": 0.5, "highlights": -40.0, "clarity": 15.0, "sharpen_radius": 1.2,
        "sharpen_edge_masking": 60.0,  # Lightroom's Masking slider is stored 0..100
    }


def test_several_descriptions_are_merged_and_later_ones_win() -> None:
    text = (
        f"<x:xmpmeta {NS}><rdf:RDF>"
        '<rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/" '
        'dc:format="image/jpeg"/>'
        '<rdf:Description rdf:about="" crs:Exposure2012="+1.00" crs:Shadows2012="+20"/>'
        '<rdf:Description rdf:about=""><crs:Exposure2012>-0.25</crs:Exposure2012>'
        "<crs:Dehaze>+8</crs:Dehaze></rdf:Description>"
        "</rdf:RDF></x:xmpmeta>"
    )
    assert read_preset(text).settings == {"exposure": -0.25, "shadows": 20.0, "dehaze": 8.0}


def test_xpacket_wrapper_declaration_and_bom_are_accepted() -> None:
    body = _xmp('crs:Exposure2012="+0.30"')
    wrapped = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>\n'
        f'{body}\n<?xpacket end="w"?>'
    )
    for text in (wrapped, "\ufeff" + body, b"\xef\xbb\xbf" + wrapped.encode(),
                 body.encode("utf-16")):
        assert read_preset(text).settings == {"exposure": 0.3}


def test_signed_and_padded_numbers_parse() -> None:
    settings = read_preset(_xmp(
        'crs:Exposure2012="+0.50" crs:Contrast2012="-12" crs:Whites2012=" +7 " '
        'crs:Blacks2012="-.5" crs:Texture="3."'
    )).settings
    assert settings == {
        "exposure": 0.5, "contrast": -12.0, "whites": 7.0, "blacks": -0.5, "texture": 3.0,
    }


def test_out_of_range_values_are_clamped() -> None:
    settings = read_preset(_xmp(
        'crs:Exposure2012="+7.5" crs:Contrast2012="-250" crs:Sharpness="200" '
        'crs:SharpenRadius="0.1" crs:SharpenDetail="140" crs:IncrementalTemperature="+180"'
    )).settings
    assert settings == {
        "exposure": 5.0, "contrast": -100.0, "temperature": 100.0, "sharpness": 150.0,
        "sharpen_radius": 0.5, "sharpen_detail": 100.0,
    }
    ToneSettings.model_validate(settings)


# --- names ---------------------------------------------------------------------------------


def test_name_is_the_x_default_alternative() -> None:
    elements = _name('<rdf:li xml:lang="de">Warm</rdf:li>',
                     '<rdf:li xml:lang="x-default">Warm &amp; Bright</rdf:li>')
    assert read_preset(_xmp('crs:Vibrance="+10"', elements)).name == "Warm & Bright"


def test_name_falls_back_to_the_first_alternative_or_none() -> None:
    first = _name('<rdf:li xml:lang="fr">Chaud</rdf:li>', '<rdf:li xml:lang="de">Warm</rdf:li>')
    assert read_preset(_xmp('crs:Vibrance="+10"', first)).name == "Chaud"
    assert read_preset(_xmp('crs:Name="Plain" crs:Vibrance="+10"')).name == "Plain"
    assert read_preset(_xmp('crs:Vibrance="+10"')).name is None
    assert read_preset(_xmp('crs:Vibrance="+10"', _name())).name is None


def test_a_profile_look_does_not_leak_its_name_or_settings() -> None:
    look = (
        '<crs:Look><rdf:Description crs:Name="Adobe Vivid" crs:Amount="1" '
        'crs:Exposure2012="+3.00"/></crs:Look>'
    )
    preset = read_preset(_xmp('crs:Exposure2012="+0.10"', _name("<rdf:li>Mine</rdf:li>") + look))
    assert (preset.name, preset.settings, preset.unsupported) == ("Mine", {"exposure": 0.1},
                                                                  ["Look"])
    default_look = '<crs:Look><rdf:Description crs:Name="Adobe Color"/></crs:Look>'
    assert read_preset(_xmp('crs:Exposure2012="0"', default_look)).unsupported == []


# --- white balance -------------------------------------------------------------------------


def test_white_balance_names_and_incremental_sliders() -> None:
    settings = read_preset(_xmp(
        'crs:WhiteBalance="cloudy" crs:IncrementalTemperature="+12" crs:IncrementalTint="-4"'
    )).settings
    assert settings == {"white_balance": "Cloudy", "temperature": 12.0, "tint": -4.0}


def test_custom_kelvin_is_approximated_relative_to_daylight() -> None:
    settings = read_preset(_xmp(
        'crs:WhiteBalance="Custom" crs:Temperature="6500" crs:Tint="+15"'
    )).settings
    assert settings["white_balance"] == "Custom"
    assert settings["temperature"] == pytest.approx((1e6 / 5500 - 1e6 / 6500) / 1.5)
    assert settings["tint"] == pytest.approx(10.0)
    cold = read_preset(_xmp('crs:Temperature="2000" crs:Tint="-150"')).settings
    assert cold == {"temperature": -100.0, "tint": -100.0}
    assert read_preset(_xmp('crs:Temperature="5500"')).settings == {"temperature": 0.0}


def test_kelvin_is_ignored_beside_a_named_or_incremental_white_balance() -> None:
    as_shot = read_preset(_xmp('crs:WhiteBalance="As Shot" crs:Temperature="4150" crs:Tint="+8"'))
    assert (as_shot.settings, as_shot.unsupported) == ({"white_balance": "As Shot"}, [])
    both = read_preset(_xmp(
        'crs:WhiteBalance="Custom" crs:Temperature="9000" crs:IncrementalTemperature="-5"'
    ))
    assert both.settings == {"white_balance": "Custom", "temperature": -5.0}


def test_unknown_white_balance_is_reported() -> None:
    preset = read_preset(_xmp('crs:WhiteBalance="Underwater" crs:Temperature="9000"'))
    assert (preset.settings, preset.unsupported) == ({}, ["WhiteBalance"])


# --- process 2010 --------------------------------------------------------------------------


def test_legacy_names_are_fallbacks() -> None:
    preset = read_preset(_xmp(
        'crs:ProcessVersion="5.7" crs:Exposure="+0.70" crs:Contrast="+25" crs:Clarity="+10" '
        'crs:FillLight="30" crs:HighlightRecovery="40" crs:Brightness="+50" crs:Shadows="5"'
    ))
    assert preset.settings == {
        "exposure": 0.7, "contrast": 25.0, "highlights": -40.0, "shadows": 30.0, "clarity": 10.0,
    }
    assert preset.unsupported == []  # Brightness 50 and (blacks) Shadows 5 are 2010's defaults
    odd = read_preset(_xmp('crs:Brightness="+80" crs:Shadows="20" crs:Recovery="15"'))
    assert (odd.settings, odd.unsupported) == ({"highlights": -15.0}, ["Brightness", "Shadows"])


def test_process_2012_names_win_over_legacy_ones() -> None:
    preset = read_preset(_xmp(
        'crs:Exposure="+2.00" crs:Exposure2012="+0.20" crs:FillLight="50" crs:Shadows2012="+5" '
        'crs:Shadows="40" crs:Blacks2012="-3" crs:Clarity="+60" crs:Clarity2012="+1"'
    ))
    assert preset.settings == {"exposure": 0.2, "shadows": 5.0, "blacks": -3.0, "clarity": 1.0}
    assert preset.unsupported == []


# --- unsupported ---------------------------------------------------------------------------


def test_unrendered_settings_in_use_are_listed() -> None:
    preset = read_preset(_xmp(
        'crs:Exposure2012="+0.10" crs:HueAdjustmentRed="+10" crs:HueAdjustmentBlue="0" '
        'crs:GrainAmount="25" crs:GrainSize="25" crs:LensProfileEnable="1" '
        'crs:LensProfileSetup="LensDefaults" crs:ConvertToGrayscale="False" '
        'crs:ToneCurveName2012="Custom" crs:CameraProfile="Camera Vivid" crs:HasCrop="True" '
        'crs:CropTop="0.1" crs:EnableDetail="True" crs:SupportsAmount="False"',
        _seq("ToneCurvePV2012", "0, 0", "64, 50", "255, 255")
        + _seq("ToneCurvePV2012Red", "0, 0", "255, 255")
        + "<crs:PaintBasedCorrections><rdf:Seq/></crs:PaintBasedCorrections>",
    ))
    assert preset.settings == {"exposure": 0.1}
    assert preset.unsupported == [
        "HueAdjustmentRed", "GrainAmount", "LensProfileEnable", "CameraProfile", "HasCrop",
        "ToneCurvePV2012",
    ]


def test_neutral_values_are_not_reported() -> None:
    preset = read_preset(_xmp(
        'crs:Exposure2012="0.00" crs:SaturationAdjustmentRed="0" crs:GrainAmount="0" '
        'crs:PostCropVignetteMidpoint="50" crs:ParametricShadowSplit="25" '
        'crs:CameraProfile="Adobe Standard" crs:ConvertToGrayscale="False" crs:HasCrop="False" '
        'crs:MoireFilter="Off" crs:AutoLateralCA="0"',
        _seq("ToneCurvePV2012", "0, 0", "255, 255"),
    ))
    assert (preset.settings, preset.unsupported) == ({"exposure": 0.0}, [])


def test_deeply_nested_structures_are_kept_opaque() -> None:
    nested = "<crs:Deep><rdf:Description>" * 60 + "</rdf:Description></crs:Deep>" * 60
    assert read_preset(_xmp('crs:Exposure2012="0"', nested)).unsupported == ["Deep"]


# --- refusals ------------------------------------------------------------------------------


@pytest.mark.parametrize("declaration", [
    '<!DOCTYPE x:xmpmeta [<!ENTITY a "aaaaaaaaaa">]>',
    '<!ENTITY a "aaaa">',
    "<!doctype html>",
])
def test_document_type_and_entity_declarations_are_refused(declaration: str) -> None:
    _refused(declaration + _xmp('crs:Exposure2012="+0.50"'), "not allowed")


def test_malformed_xml_is_refused() -> None:
    _refused(_xmp('crs:Exposure2012="+0.50"')[:-5], "not well-formed XML")
    _refused(_xmp('crs:Exposure2012="+0.50" &undefined;'), "not well-formed XML")
    _refused(b"\xff\x00garbage", "preset")


def test_a_document_without_crs_settings_is_refused() -> None:
    sidecar = (
        f"<x:xmpmeta {NS}><rdf:RDF><rdf:Description "
        'xmlns:dc="http://purl.org/dc/elements/1.1/" dc:format="image/jpeg"/>'
        "</rdf:RDF></x:xmpmeta>"
    )
    _refused(sidecar, "no Camera Raw (crs:) settings")
    _refused("<html><body/></html>", "no Camera Raw (crs:) settings")


@pytest.mark.parametrize("value", ["abc", "", "1,5", "nan", "+inf", "0x10"])
def test_a_slider_that_is_not_a_number_is_refused(value: str) -> None:
    _refused(_xmp(f'crs:Exposure2012="{value}"'), f"preset: Exposure2012 is not a number: "
                                                  f"{value!r}")


def test_a_slider_with_structure_is_refused() -> None:
    _refused(_xmp(elements=_seq("Contrast2012", "1", "2")), "Contrast2012 is not a number")


def test_oversized_presets_are_refused() -> None:
    padding = " " * (MAX_PRESET_SIZE + 1)
    _refused(_xmp('crs:Exposure2012="+0.50"') + padding, "larger than")
    _refused((_xmp('crs:Exposure2012="+0.50"') + padding).encode(), "larger than")


def test_lrtemplate_presets_are_refused_with_a_hint() -> None:
    lua = 's = {\n\tid = "1",\n\tinternalName = "Warm",\n\tvalue = { settings = {} },\n}\n'
    _refused(lua, "only XMP presets are read", ".lrtemplate")


# --- writing -------------------------------------------------------------------------------


def test_write_then_read_gives_the_changed_settings() -> None:
    settings = ToneSettings(exposure=0.5, contrast=-12, white_balance="Tungsten", tint=8,
                            sharpness=40, sharpen_radius=1.2)
    preset = read_preset(write_xmp(settings, name="Tungsten fix"))
    assert preset == Preset("Tungsten fix", settings.changed(), [])


def test_every_field_round_trips() -> None:
    values = {
        name: 3.0 for name, info in ToneSettings.model_fields.items() if info.annotation is float
    }
    values |= {"exposure": -1.25, "sharpen_radius": 2.5, "sharpen_detail": 60.0,
               "white_balance": "Fluorescent"}
    settings = ToneSettings.model_validate(values)
    assert set(settings.changed()) == set(ToneSettings.model_fields)
    assert read_preset(write_xmp(settings)).settings == settings.changed()
    complete = read_preset(write_xmp(ToneSettings(), complete=True)).settings
    assert complete == ToneSettings().model_dump()


def test_identity_writes_an_empty_but_readable_sidecar() -> None:
    data = write_xmp(ToneSettings())
    assert b'crs:ProcessVersion="15.4"' in data and b"crs:Version=" in data
    assert read_preset(data) == Preset(None, {}, [])


def test_values_are_written_at_lightroom_precision() -> None:
    data = write_xmp(ToneSettings(exposure=0.333, contrast=12.6, clarity=0.3, vignette=-7.4,
                                  sharpen_radius=1.04, noise_reduction=20))
    text = data.decode()
    for spelled in ('crs:Exposure2012="+0.33"', 'crs:Contrast2012="+13"',
                    'crs:PostCropVignetteAmount="-7"', 'crs:LuminanceSmoothing="20"'):
        assert spelled in text
    assert "Clarity2012" not in text and "SharpenRadius" not in text  # rounded to the default
    assert read_preset(data).settings == {
        "exposure": 0.33, "contrast": 13.0, "vignette": -7.0, "noise_reduction": 20.0,
    }


def test_written_packets_are_deterministic_and_escape_the_name() -> None:
    settings = ToneSettings(vibrance=20)
    data = write_xmp(settings, name='Bright "&" <warm>')
    assert data == write_xmp(settings, name='Bright "&" <warm>')
    assert data.startswith(b"<?xpacket begin=") and b'crs:PresetType="Normal"' in data
    assert read_preset(data).name == 'Bright "&" <warm>'
    with pytest.raises(InvalidParameterError, match="preset name"):
        write_xmp(settings, name="bad\x00name")

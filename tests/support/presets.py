"""Lightroom presets written out in the tests (XMP text), for the develop routes."""

from __future__ import annotations

# Saturation -100 and half a stop up: every output pixel is a grey, easy to check.
GREY_PRESET = """<x:xmpmeta xmlns:x="adobe:ns:meta/">
 <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
  <rdf:Description rdf:about="" xmlns:crs="http://ns.adobe.com/camera-raw-settings/1.0/"
    crs:PresetType="Normal" crs:Saturation="-100" crs:Exposure2012="+0.50">
   <crs:Name><rdf:Alt><rdf:li xml:lang="x-default">Grey</rdf:li></rdf:Alt></crs:Name>
  </rdf:Description>
 </rdf:RDF>
</x:xmpmeta>
"""

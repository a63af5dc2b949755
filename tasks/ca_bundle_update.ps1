# cert_regen::ca_bundle_update on Windows - compiled C; files\launch.ps1 picks the
# binary for this host and hands it the task's JSON parameters.
$f = Join-Path $(if ($env:PT__installdir) { $env:PT__installdir } else { Join-Path $PSScriptRoot '..\..' }) 'cert_regen\files\launch.ps1'
if (-not (Test-Path -LiteralPath $f -PathType Leaf)) {
    [Console]::Out.WriteLine('{"_error":{"kind":"cert_regen/unsupported-platform","msg":"files/launch.ps1 of the cert_regen module was not delivered with the task. Next step: reinstall the cert_regen module so that its files/ directory reaches the target (Bolt: the module on the modulepath), then run the task again.","details":{"next_step":"reinstall the cert_regen module so that its files/ directory reaches the target (Bolt: the module on the modulepath), then run the task again."}}}')
    exit 1
}
& $f ca_bundle_update
exit $LASTEXITCODE

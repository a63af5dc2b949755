# launch.ps1 TASK - the Windows side of launch.sh: runs
# files\bin\windows-x86_64\cert_regen.exe for the task TASK, handing it the
# task's JSON parameters (stdin; PT_* stay in the environment) and passing
# its JSON result and exit code back.  When no build fits it answers with
# the task contract's _error JSON (kind cert_regen/unsupported-platform).
param([Parameter(Mandatory = $true)][string]$Task)
$ErrorActionPreference = 'Stop'

# The default next step of the kind (ext/core/cr_err.c, kind_registry).
$next = 'run the task on a platform cert_regen has a build for, or build one (docs/building.md: Building for other agent Rubies and platforms).'

function Send-Failure([string]$Platform, [string]$Why) {
    $safeTask = $Task -replace '[^a-z0-9_]', ''
    $err = [ordered]@{
        kind    = 'cert_regen/unsupported-platform'
        msg     = "no cert_regen build runs on ${Platform}: $Why. Next step: $next"
        details = [ordered]@{
            platform  = $Platform
            expected  = 'cert_regen/files/bin/windows-x86_64/cert_regen.exe'
            task      = $safeTask
            next_step = $next
        }
    }
    [Console]::Out.WriteLine((ConvertTo-Json -Compress -Depth 4 @{ _error = $err }))
    exit 1
}

# A 32-bit PowerShell on 64-bit Windows reports x86 and sets ARCHITEW6432.
$arch = $env:PROCESSOR_ARCHITEW6432
if (-not $arch) { $arch = $env:PROCESSOR_ARCHITECTURE }
$arch = "$arch".ToLowerInvariant()
if ($arch -eq 'amd64') { $arch = 'x86_64' }
$platform = "windows-$arch"
if ($Task -notmatch '^[a-z][a-z0-9_]{0,63}$') {
    Send-Failure $platform 'the launcher was called without a valid task name'
}
$bin = Join-Path $PSScriptRoot "bin\$platform\cert_regen.exe"
if (-not (Test-Path -LiteralPath $bin -PathType Leaf)) {
    Send-Failure $platform "the module carries no binary for this platform; build one with rake binaries (TARGET=x86_64-w64-mingw32) and add it under files/bin/$platform"
}

# The parameters: Bolt and pxp-agent write them as JSON on stdin.
$params = ''
if ([Console]::IsInputRedirected) { $params = [Console]::In.ReadToEnd() }

$utf8 = New-Object System.Text.UTF8Encoding($false)
$psi = New-Object System.Diagnostics.ProcessStartInfo
$psi.FileName = $bin
$psi.Arguments = "task $Task"
$psi.UseShellExecute = $false
$psi.RedirectStandardInput = $true
$psi.RedirectStandardOutput = $true
$psi.StandardOutputEncoding = $utf8
try {
    $proc = [System.Diagnostics.Process]::Start($psi)
} catch {
    Send-Failure $platform "the binary does not run here: $($_.Exception.Message)"
}
$in = New-Object System.IO.StreamWriter($proc.StandardInput.BaseStream, $utf8)
$in.Write($params)
$in.Close()
$out = $proc.StandardOutput.ReadToEnd()
$proc.WaitForExit()
[Console]::Out.Write($out)
exit $proc.ExitCode

# frozen_string_literal: true

# Builds CertRegen::Native for the Ruby that runs this file.  The C core in
# ext/core is compiled into the extension (no shared library to install on
# the agent); only Init_cert_regen_native is exported.
require 'json'
require 'mkmf'

core = File.expand_path('../core', __dir__)

# CERT_REGEN_DEPS=<prefix of `ext/deps/build.sh x86_64-pic`>: the
# self-contained variant, which links that prefix's static PIC OpenSSL and
# jansson and exports nothing of them (export.map), so it cannot clash with
# the OpenSSL the agent's Ruby loads.  Without it, the system libraries.
deps = ENV.fetch('CERT_REGEN_DEPS', '')

def need(what, hint)
  return if yield

  abort "cert_regen: #{what} not found. #{hint}"
end

if deps.empty?
  dir_config('openssl')
  dir_config('jansson')
  need('OpenSSL >= 3.0', 'Install libssl-dev (Debian) or openssl-devel (RHEL).') do
    pkg_config('openssl') && have_header('openssl/ssl.h') &&
      try_compile("#include <openssl/opensslv.h>\n#if OPENSSL_VERSION_MAJOR < 3\n#error too old\n#endif\nint main(void){return 0;}")
  end
  need('jansson', 'Install libjansson-dev (Debian) or jansson-devel (RHEL).') do
    (pkg_config('jansson') || true) && have_header('jansson.h') && have_library('jansson', 'json_object')
  end
else
  abort "cert_regen: CERT_REGEN_DEPS=#{deps} holds no libcrypto.a: run bash ext/deps/build.sh x86_64-pic" unless
    File.file?(File.join(deps, 'lib', 'libcrypto.a'))
  $INCFLAGS << " -I#{deps}/include"
  # The archives' objects become the extension's own; --exclude-libs keeps
  # them out of the dynamic symbol table and export.map allows only Init.
  $LOCAL_LIBS << " #{deps}/lib/libssl.a #{deps}/lib/libcrypto.a #{deps}/lib/libjansson.a"
  $LDFLAGS << " -Wl,--exclude-libs,ALL -Wl,--version-script=#{File.expand_path('export.map', __dir__)}"
  $LIBS << ' -lpthread'
end

# Only the binding's Init function is visible: the core's names cannot clash
# with another extension loaded into the same Ruby (ruby/openssl included).
$CFLAGS << ' -fvisibility=hidden -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror' \
           ' -Wno-unused-parameter -Wno-missing-field-initializers'
# CERT_REGEN_SAN=1: ASan+UBSan build for `rake test:spec_asan`.  Stack
# instrumentation is off: a Ruby raise longjmps over instrumented C frames.
$CFLAGS << ' -fsanitize=address,undefined -fno-omit-frame-pointer --param=asan-stack=0' if ENV['CERT_REGEN_SAN'] == '1'
$LDFLAGS << ' -fsanitize=address,undefined' if ENV['CERT_REGEN_SAN'] == '1'
$INCFLAGS << " -I#{core}"
# The module's version has one source: metadata.json.
version = JSON.parse(File.read(File.expand_path('../../metadata.json', __dir__)))['version']
abort 'cert_regen: no "version" in metadata.json' unless version.is_a?(String) && version.match?(/\A\d+\.\d+\.\d+\z/)
$defs << %(-DCERT_REGEN_VERSION=\\"#{version}\\")
# Only what the fact needs (cr_status_collect, the settings resolver and the
# platform seam's POSIX side): no HTTP client and no YAML parser, so a Facter
# process loads neither libcurl nor libyaml.  A core file the fact starts to
# need shows up as an undefined symbol when the extension loads (the specs
# load it).  The list is fact_core.txt (paths under ext/core), shared with
# build_abi.sh.
FACT_CORE = File.read(File.expand_path('fact_core.txt', __dir__)).split.freeze
FACT_CORE.map { |f| File.join(core, File.dirname(f)) }.uniq.each { |d| $VPATH << d }
$srcs = ['cert_regen_native.c'] + FACT_CORE.map { |f| "#{File.basename(f)}.c" }

create_makefile('cert_regen_native')

# Every object depends on every core header: a changed struct must never
# leave a stale object behind.
headers = (Dir[File.join(core, '*.h')] + Dir[File.join(core, 'sys', '*.h')]).sort
File.open('Makefile', 'a') { |f| f.puts "\n$(OBJS): #{headers.join(' ')}" }

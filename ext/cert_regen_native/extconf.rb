# frozen_string_literal: true

# Builds CertRegen::Native for the Ruby that runs this file.  The C core in
# ext/core is compiled into the extension (no shared library to install on
# the agent); only Init_cert_regen_native is exported.
require 'json'
require 'mkmf'

core = File.expand_path('../core', __dir__)

dir_config('openssl')
dir_config('jansson')
dir_config('yaml')

def need(what, hint)
  return if yield

  abort "cert_regen: #{what} not found. #{hint}"
end

need('OpenSSL >= 3.0', 'Install libssl-dev (Debian) or openssl-devel (RHEL).') do
  pkg_config('openssl') && have_header('openssl/ssl.h') &&
    try_compile("#include <openssl/opensslv.h>\n#if OPENSSL_VERSION_MAJOR < 3\n#error too old\n#endif\nint main(void){return 0;}")
end
need('jansson', 'Install libjansson-dev (Debian) or jansson-devel (RHEL).') do
  (pkg_config('jansson') || true) && have_header('jansson.h') && have_library('jansson', 'json_object')
end
need('libyaml', 'Install libyaml-dev (Debian) or libyaml-devel (RHEL).') do
  (pkg_config('yaml-0.1') || true) && have_header('yaml.h') && have_library('yaml', 'yaml_parser_initialize')
end
need('libcurl', 'Install libcurl4-openssl-dev (Debian) or libcurl-devel (RHEL).') do
  (pkg_config('libcurl') || true) && have_header('curl/curl.h') && have_library('curl', 'curl_easy_init')
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
# The core and its platform seam (core/sys/*.c and the POSIX side of it).
core_dirs = [core, File.join(core, 'sys'), File.join(core, 'sys', 'posix')]
core_dirs.each { |d| $VPATH << d }
$srcs = ['cert_regen_native.c'] + core_dirs.flat_map { |d| Dir[File.join(d, '*.c')] }.map { |f| File.basename(f) }.sort

create_makefile('cert_regen_native')

# Every object depends on every core header: a changed struct must never
# leave a stale object behind.
headers = (Dir[File.join(core, '*.h')] + Dir[File.join(core, 'sys', '*.h')]).sort
File.open('Makefile', 'a') { |f| f.puts "\n$(OBJS): #{headers.join(' ')}" }

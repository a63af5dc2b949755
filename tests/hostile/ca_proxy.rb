#!/usr/bin/env ruby
# frozen_string_literal: true

# tests/hostile/ca_proxy.rb - a CA that misbehaves or lies, for tests only.
#
# A TLS-terminating man in the middle on 127.0.0.1 between the cert_regen
# tasks and a real puppetserver: it presents a server certificate for
# localhost / 127.0.0.1 signed by the real test CA (so the client's TLS
# check passes), reads each HTTP/1.1 request (keep-alive), forwards it to
# the real CA over TLS with its own client certificate (the CA host's, so
# CA-admin requests are allowed), and answers - honestly, or not.
# Stdlib only (socket, openssl).  Never talks to anything but 127.0.0.0/8.
#
#   ruby ca_proxy.rb --upstream-port P --cadir DIR --client-cert F --client-key F
#        [--upstream-host 127.0.0.1] [--port 0] [--mode SPEC] [--match REGEX]
#        [--skip N] [--times N] [--max-conns N] [--max-seconds T]
#        [--workdir DIR] [--log FILE]
#
# Prints the port it listens on (one line) on stdout once ready.  Serves at
# most --max-conns connections (default 64) or --max-seconds (default 120),
# then exits.
#
# Modes (SPEC); a "matching request" is one whose "METHOD PATH" matches
# --match (default: every request, or the endpoint the mode is about),
# after the first --skip matching requests (default 0), at most --times
# times (default: always):
#   pass                 forward everything unchanged
#   delay=S              sleep S seconds, then forward and answer
#   hsdelay=S            every connection: sleep S seconds before the TLS handshake
#   cut                  close the connection after reading the request (not forwarded)
#   cutafter             forward the request, then close without answering
#   reset                RST (SO_LINGER 0) after reading the request (not forwarded)
#   status=N             answer HTTP N (not forwarded)
#   truncate[=half|full] forward; announce the real length (half: send half of
#                        the body) or more (full: send all of it), then close
#   oversize[=MB]        200 with Content-Length MB MiB (default 80), streamed
#   oversize-chunked[=MB] the same, chunked, no length announced
#   wrongca              TLS certificate from another CA (same names), forward
#   swapcert=K           GET certificate/<name> answered 200 by the CA: the
#                        certificate is replaced.  K: otherkey (real CA, same
#                        name, another key), othercn (real CA, the requester's
#                        key, another CN), rogueca (the requester's key and name,
#                        signed by another CA with the real CA's name), expired
#                        (real CA, expired), append (the real certificate with a
#                        rogue CA certificate appended)
#   swapca=K             GET certificate/ca: rogue (another CA with the same
#                        name), append (the real bundle + the rogue CA), garbage
#   crl=K                GET certificate_revocation_list/ca: garbage, rogue (the
#                        CA's CRL re-signed by another CA of the same name),
#                        append / prepend (the real CRLs with a rogue one after /
#                        before them), revoked (a real-CA CRL that revokes every
#                        certificate this proxy passed), stale (real CA, expired)
#   json=garbage         JSON endpoints (certificate_status*) answered 200 with
#                        a body that is not JSON
#
# --workdir DIR receives rogue-ca.pem and every forged certificate or CRL
# served (forged-N.pem), so a test can prove none of them was installed.
# --log FILE gets one line per request: "HIT <mode> <method> <path>" when a
# fault was applied, "PASS <method> <path> <status>" otherwise.

require 'openssl'
require 'socket'

module Hostile
  Forward = Struct.new(:status, :headers, :body)

  REASONS = {
    200 => 'OK', 204 => 'No Content', 400 => 'Bad Request', 401 => 'Unauthorized',
    403 => 'Forbidden', 404 => 'Not Found', 409 => 'Conflict',
    500 => 'Internal Server Error', 502 => 'Bad Gateway', 503 => 'Service Unavailable'
  }.freeze

  DEFAULT_MATCH = {
    'swapcert' => %r{\AGET /puppet-ca/v1/certificate/(?!ca\z)[^/?]+\z},
    'swapca' => %r{\AGET /puppet-ca/v1/certificate/ca\z},
    'crl' => %r{\AGET /puppet-ca/v1/certificate_revocation_list/},
    'json' => %r{\AGET /puppet-ca/v1/certificate_status},
  }.freeze

  class Proxy
    def initialize(opts)
      @o = opts
      @mode, @arg = opts[:mode].split('=', 2)
      @match = opts[:match] ? Regexp.new(opts[:match]) : (DEFAULT_MATCH[@mode] || /./)
      @skip = opts[:skip]
      @times = opts[:times]
      @matched = 0
      @faults = 0
      @forged = 0
      @seen_serials = []
      @lock = Mutex.new
      @log = opts[:log] ? File.open(opts[:log], 'a') : nil
      @log&.sync = true
      @workdir = opts[:workdir]
      Dir.mkdir(@workdir) if @workdir && !Dir.exist?(@workdir)
      load_ca
      build_identities
    end

    def log(line)
      @lock.synchronize { @log&.puts(line) }
    end

    # ------------------------------------------------------ identities --

    def load_ca
      pem = File.read(File.join(@o[:cadir], 'ca_crt.pem'))
      @ca_chain = pem.scan(/-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----\n?/m)
                     .map { |c| OpenSSL::X509::Certificate.new(c) }
      @ca = @ca_chain.first
      @ca_key = OpenSSL::PKey.read(File.read(File.join(@o[:cadir], 'ca_key.pem')))
      raise 'ca_key.pem is not the key of ca_crt.pem' unless @ca.check_private_key(@ca_key)
    end

    def ec_key
      OpenSSL::PKey::EC.generate('prime256v1')
    end

    def serial
      OpenSSL::BN.rand(120)
    end

    def ext_factory(subject_cert, issuer_cert)
      ef = OpenSSL::X509::ExtensionFactory.new
      ef.subject_certificate = subject_cert
      ef.issuer_certificate = issuer_cert
      ef
    end

    def build_identities
      # Another CA with exactly the real (issuing) CA's subject name: chain
      # building by name finds it, only the signature tells them apart.
      @rogue_key = ec_key
      @rogue = OpenSSL::X509::Certificate.new
      @rogue.version = 2
      @rogue.serial = serial
      @rogue.subject = @ca.subject
      @rogue.issuer = @ca.subject
      @rogue.public_key = @rogue_key
      @rogue.not_before = Time.now - 3600
      @rogue.not_after = Time.now + 86_400 * 30
      ef = ext_factory(@rogue, @rogue)
      @rogue.add_extension(ef.create_extension('basicConstraints', 'CA:TRUE', true))
      @rogue.add_extension(ef.create_extension('keyUsage', 'keyCertSign,cRLSign', true))
      @rogue.add_extension(ef.create_extension('subjectKeyIdentifier', 'hash'))
      @rogue.sign(@rogue_key, OpenSSL::Digest.new('SHA256'))
      save('rogue-ca.pem', @rogue.to_pem)

      @server_key = ec_key
      issuer, ikey = @mode == 'wrongca' ? [@rogue, @rogue_key] : [@ca, @ca_key]
      @server_cert = leaf('CN=localhost', @server_key, issuer, ikey,
                          san: 'DNS:localhost,IP:127.0.0.1', eku: 'serverAuth')
      save('server.pem', @server_cert.to_pem)

      @server_ctx = OpenSSL::SSL::SSLContext.new
      @server_ctx.cert = @server_cert
      @server_ctx.key = @server_key
      @server_ctx.min_version = OpenSSL::SSL::TLS1_2_VERSION
      @server_ctx.verify_mode = OpenSSL::SSL::VERIFY_NONE

      @up_ctx = OpenSSL::SSL::SSLContext.new
      @up_ctx.cert = OpenSSL::X509::Certificate.new(File.read(@o[:client_cert]))
      @up_ctx.key = OpenSSL::PKey.read(File.read(@o[:client_key]))
      store = OpenSSL::X509::Store.new
      @ca_chain.each { |c| store.add_cert(c) }
      @up_ctx.cert_store = store
      @up_ctx.verify_mode = OpenSSL::SSL::VERIFY_PEER
      @up_ctx.verify_hostname = false
      @up_ctx.max_version = OpenSSL::SSL::TLS1_2_VERSION
      if defined?(OpenSSL::SSL::OP_IGNORE_UNEXPECTED_EOF)
        @up_ctx.options |= OpenSSL::SSL::OP_IGNORE_UNEXPECTED_EOF
      end
    end

    def leaf(subject, pubkey, issuer, ikey, san: nil, eku: nil, not_before: Time.now - 3600,
             not_after: Time.now + 86_400 * 365, extensions: [])
      c = OpenSSL::X509::Certificate.new
      c.version = 2
      c.serial = serial
      c.subject = subject.is_a?(String) ? OpenSSL::X509::Name.parse(subject) : subject
      c.issuer = issuer.subject
      c.public_key = pubkey
      c.not_before = not_before
      c.not_after = not_after
      ef = ext_factory(c, issuer)
      c.add_extension(ef.create_extension('basicConstraints', 'CA:FALSE', true))
      c.add_extension(ef.create_extension('keyUsage', 'digitalSignature,keyEncipherment', true))
      c.add_extension(ef.create_extension('extendedKeyUsage', eku, false)) if eku
      c.add_extension(ef.create_extension('subjectAltName', san, false)) if san
      c.add_extension(ef.create_extension('subjectKeyIdentifier', 'hash'))
      c.add_extension(ef.create_extension('authorityKeyIdentifier', 'keyid:always'))
      extensions.each { |e| c.add_extension(e) }
      c.sign(ikey, OpenSSL::Digest.new('SHA256'))
      c
    end

    def save(name, text)
      return unless @workdir

      File.write(File.join(@workdir, name), text)
    end

    PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----.+?-----END \1-----\n?/m.freeze

    # Records the objects of text that the real answer did not hold (what
    # was forged), returns text.
    def save_forged(text, real = '')
      ours = real.to_enum(:scan, PEM_BLOCK).map { Regexp.last_match(0).strip }
      fake = text.to_enum(:scan, PEM_BLOCK).map { Regexp.last_match(0).strip } - ours
      return text if fake.empty?

      n = @lock.synchronize { @forged += 1 }
      save("forged-#{n}.pem", fake.join("\n") + "\n")
      text
    end

    # ----------------------------------------------------------- forge --

    KEEP_EXT = %w[basicConstraints keyUsage extendedKeyUsage subjectKeyIdentifier
                  authorityKeyIdentifier].freeze

    def forge_cert(pem, kind)
      real = OpenSSL::X509::Certificate.new(pem)
      carry = real.extensions.reject { |e| KEEP_EXT.include?(e.oid) }
      now = Time.now
      c = case kind
          when 'otherkey' then leaf(real.subject, ec_key, @ca, @ca_key, extensions: carry)
          when 'othercn' then leaf('CN=someone-else.hostile.test', real.public_key, @ca, @ca_key,
                                   extensions: carry)
          when 'rogueca' then leaf(real.subject, real.public_key, @rogue, @rogue_key, extensions: carry)
          when 'expired'
            leaf(real.subject, real.public_key, @ca, @ca_key, extensions: carry,
                                                              not_before: now - 86_400 * 10,
                                                              not_after: now - 86_400)
          when 'append' then nil
          else raise "unknown swapcert kind #{kind}"
          end
      return save_forged(pem + @rogue.to_pem, pem) if c.nil?

      save_forged(c.to_pem)
    end

    def forge_ca(pem, kind)
      case kind
      when 'rogue' then save_forged(@rogue.to_pem)
      when 'append' then save_forged(pem + @rogue.to_pem, pem)
      when 'garbage' then "this is not a CA bundle\n"
      else raise "unknown swapca kind #{kind}"
      end
    end

    def sign_crl(issuer_name, key, revoked, extensions, last_update, next_update)
      crl = OpenSSL::X509::CRL.new
      crl.version = 1
      crl.issuer = issuer_name
      crl.last_update = last_update
      crl.next_update = next_update
      revoked.each { |r| crl.add_revoked(r) }
      extensions.each { |e| crl.add_extension(e) }
      crl.sign(key, OpenSSL::Digest.new('SHA256'))
      crl
    end

    def forge_crl(pem, kind)
      return "-----BEGIN X509 CRL-----\nnot a CRL at all!\n-----END X509 CRL-----\n" if kind == 'garbage'

      crls = pem.scan(/-----BEGIN X509 CRL-----.+?-----END X509 CRL-----\n?/m)
                .map { |c| OpenSSL::X509::CRL.new(c) }
      mine = crls.find { |c| c.issuer.cmp(@ca.subject).zero? } or raise 'no CRL of the issuing CA'
      others = crls.reject { |c| c.equal?(mine) }
      now = Time.now
      # a rogue CRL: same issuer name, no authority key identifier (so
      # OpenSSL cannot tell it apart before checking the signature)
      rogue = sign_crl(@ca.subject, @rogue_key, [], [], now - 60, now + 86_400)
      out = case kind
            when 'rogue' then [rogue] + others
            when 'append' then crls + [rogue]
            when 'prepend' then [rogue] + crls
            when 'revoked'
              serials = @lock.synchronize { @seen_serials.dup }
              add = serials.map do |s|
                r = OpenSSL::X509::Revoked.new
                r.serial = s
                r.time = now - 60
                r
              end
              [sign_crl(@ca.subject, @ca_key, mine.revoked + add, mine.extensions, now - 60,
                        now + 86_400)] + others
            when 'stale'
              [sign_crl(@ca.subject, @ca_key, mine.revoked, mine.extensions, now - 86_400 * 10,
                        now - 86_400)] + others
            else raise "unknown crl kind #{kind}"
            end
      save_forged(out.map(&:to_pem).join, pem)
    end

    # ------------------------------------------------------------ HTTP --

    def read_request(io)
      line = io.gets("\r\n", 8192) or return nil
      method, path, = line.split(' ', 3)
      return nil unless method && path

      headers = {}
      while (h = io.gets("\r\n", 8192))
        h = h.chomp("\r\n")
        break if h.empty?

        k, v = h.split(':', 2)
        headers[k.strip.downcase] = v.to_s.strip if k
        return nil if headers.size > 100
      end
      len = headers['content-length'].to_i
      return nil if len.negative? || len > (1 << 20)

      body = len.positive? ? io.read(len) : ''
      return nil if body.nil? || body.bytesize != len

      { method: method, path: path, headers: headers, body: body }
    end

    def upstream(req)
      tcp = Socket.tcp(@o[:upstream_host], @o[:upstream_port], connect_timeout: 10)
      ssl = OpenSSL::SSL::SSLSocket.new(tcp, @up_ctx)
      ssl.sync_close = true
      ssl.connect
      head = +"#{req[:method]} #{req[:path]} HTTP/1.1\r\n"
      head << "Host: 127.0.0.1:#{@o[:upstream_port]}\r\nConnection: close\r\n"
      head << "User-Agent: cert_regen-hostile-proxy\r\nAccept: */*\r\n"
      head << "Content-Type: #{req[:headers]['content-type']}\r\n" if req[:headers]['content-type']
      head << "Content-Length: #{req[:body].bytesize}\r\n" unless req[:method] == 'GET'
      ssl.write(head + "\r\n" + req[:body])
      data = +''
      begin
        loop { data << ssl.readpartial(65_536) }
      rescue EOFError, OpenSSL::SSL::SSLError, Errno::ECONNRESET
        nil
      end
      ssl.close rescue nil # rubocop:disable Style/RescueModifier
      parse_response(data)
    end

    def parse_response(data)
      head, rest = data.split("\r\n\r\n", 2)
      raise 'upstream sent no response' if head.nil? || rest.nil?

      lines = head.split("\r\n")
      status = lines.shift.split(' ', 3)[1].to_i
      headers = {}
      lines.each do |l|
        k, v = l.split(':', 2)
        headers[k.strip.downcase] = v.to_s.strip
      end
      body = if headers['transfer-encoding'].to_s.downcase.include?('chunked')
               dechunk(rest)
             elsif headers['content-length']
               rest.byteslice(0, headers['content-length'].to_i)
             else
               rest
             end
      Forward.new(status, headers, body)
    end

    def dechunk(s)
      out = +''
      pos = 0
      loop do
        eol = s.index("\r\n", pos) or break
        n = s[pos...eol].split(';').first.to_i(16)
        break if n.zero?

        out << s.byteslice(eol + 2, n)
        pos = eol + 2 + n + 2
      end
      out
    end

    def head_for(status, type, length)
      h = +"HTTP/1.1 #{status} #{REASONS[status] || 'Status'}\r\n"
      h << "Content-Type: #{type}\r\n" if type
      h << "Content-Length: #{length}\r\n" if length
      h
    end

    def respond(io, status, type, body)
      io.write(head_for(status, type, body.bytesize) + "\r\n" + body)
    end

    def respond_forward(io, f)
      respond(io, f.status, f.headers['content-type'], f.body)
    end

    # ----------------------------------------------------------- serve --

    def fault?(req)
      return false if @mode == 'pass' || @mode == 'wrongca' || @mode == 'hsdelay'

      @lock.synchronize do
        next false unless @match.match?("#{req[:method]} #{req[:path]}")

        @matched += 1
        next false if @matched <= @skip || (@times && @faults >= @times)

        @faults += 1
        true
      end
    end

    def remember_serial(req, f)
      return unless req[:method] == 'GET' && f.status == 200 &&
                    DEFAULT_MATCH['swapcert'].match?("GET #{req[:path]}")

      c = OpenSSL::X509::Certificate.new(f.body)
      @lock.synchronize { @seen_serials << c.serial }
    rescue OpenSSL::X509::CertificateError
      nil
    end

    JUNK_LINE = ('QUFB' * 16) + "\n"

    def stream_oversize(io, chunked)
      mb = (@arg || '80').to_i
      total = mb << 20
      block = "-----BEGIN CERTIFICATE-----\n" + (JUNK_LINE * 1000)
      block = block.byteslice(0, 65_536) while block.bytesize > 65_536
      block += JUNK_LINE * ((65_536 - block.bytesize) / JUNK_LINE.bytesize)
      if chunked
        io.write(head_for(200, 'text/plain', nil) + "Transfer-Encoding: chunked\r\n\r\n")
      else
        io.write(head_for(200, 'text/plain', total) + "\r\n")
      end
      sent = 0
      while sent < total
        n = [block.bytesize, total - sent].min
        piece = block.byteslice(0, n)
        io.write(chunked ? "#{n.to_s(16)}\r\n#{piece}\r\n" : piece)
        sent += n
      end
      io.write("0\r\n\r\n") if chunked
    rescue Errno::EPIPE, Errno::ECONNRESET, IOError, OpenSSL::SSL::SSLError
      nil
    end

    # Answers one request; false when the connection must be closed.
    def serve(io, tcp, req)
      what = "#{req[:method]} #{req[:path]}"
      unless fault?(req)
        f = upstream(req)
        remember_serial(req, f)
        log("PASS #{what} #{f.status}")
        respond_forward(io, f)
        return true
      end
      log("HIT #{@o[:mode]} #{what}")
      case @mode
      when 'delay'
        sleep(@arg.to_f)
        f = upstream(req)
        remember_serial(req, f)
        respond_forward(io, f)
        true
      when 'cut'
        false
      when 'cutafter'
        upstream(req)
        false
      when 'reset'
        tcp.setsockopt(Socket::Option.linger(true, 0))
        tcp.close
        false
      when 'status'
        n = @arg.to_i
        respond(io, n, 'text/plain', "hostile proxy: HTTP #{n}\n")
        true
      when 'truncate'
        f = upstream(req)
        if @arg == 'full'
          io.write(head_for(f.status, f.headers['content-type'], f.body.bytesize + 512) + "\r\n" + f.body)
        else
          io.write(head_for(f.status, f.headers['content-type'], f.body.bytesize) + "\r\n" +
                   f.body.byteslice(0, f.body.bytesize / 2))
        end
        false
      when 'oversize'
        stream_oversize(io, false)
        false
      when 'oversize-chunked'
        stream_oversize(io, true)
        false
      when 'swapcert'
        f = upstream(req)
        f.body = forge_cert(f.body, @arg) if f.status == 200
        log("FORGED #{what}") if f.status == 200
        respond_forward(io, f)
        true
      when 'swapca'
        f = upstream(req)
        f.body = forge_ca(f.body, @arg) if f.status == 200
        respond_forward(io, f)
        true
      when 'crl'
        f = upstream(req)
        f.body = forge_crl(f.body, @arg) if f.status == 200
        respond_forward(io, f)
        true
      when 'json'
        respond(io, 200, 'application/json', "{\"name\": \"hostile\", \"state\": [unterminated\n")
        true
      else
        raise "unknown mode #{@mode}"
      end
    end

    def handle(tcp)
      log("HIT #{@o[:mode]} connection") if %w[hsdelay wrongca].include?(@mode)
      sleep(@arg.to_f) if @mode == 'hsdelay'
      ssl = OpenSSL::SSL::SSLSocket.new(tcp, @server_ctx)
      ssl.sync_close = true
      ssl.accept
      while (req = read_request(ssl))
        break unless serve(ssl, tcp, req)
      end
    rescue StandardError => e
      log("ERR #{e.class}: #{e.message.lines.first.to_s.chomp}")
    ensure
      begin
        ssl ? ssl.close : tcp.close
      rescue StandardError
        nil
      end
    end

    def run
      server = TCPServer.new('127.0.0.1', @o[:port])
      $stdout.puts server.addr[1]
      $stdout.flush
      deadline = Time.now + @o[:max_seconds]
      conns = 0
      threads = []
      while Time.now < deadline
        threads.select!(&:alive?)
        if conns >= @o[:max_conns]
          break if threads.empty?

          sleep 0.2
          next
        end
        next unless server.wait_readable(0.5)

        begin
          sock = server.accept_nonblock
        rescue IO::WaitReadable, Errno::EINTR
          next
        end
        conns += 1
        threads << Thread.new(sock) { |s| handle(s) }
      end
      log('EXIT')
      exit!(0)
    end
  end

  def self.parse_args(argv)
    o = { upstream_host: '127.0.0.1', port: 0, mode: 'pass', skip: 0, times: nil,
          max_conns: 64, max_seconds: 120.0 }
    until argv.empty?
      k = argv.shift
      v = argv.shift or abort "#{k} needs a value"
      case k
      when '--upstream-host' then o[:upstream_host] = v
      when '--upstream-port' then o[:upstream_port] = Integer(v)
      when '--port' then o[:port] = Integer(v)
      when '--cadir' then o[:cadir] = v
      when '--client-cert' then o[:client_cert] = v
      when '--client-key' then o[:client_key] = v
      when '--mode' then o[:mode] = v
      when '--match' then o[:match] = v
      when '--skip' then o[:skip] = Integer(v)
      when '--times' then o[:times] = Integer(v)
      when '--max-conns' then o[:max_conns] = Integer(v)
      when '--max-seconds' then o[:max_seconds] = Float(v)
      when '--workdir' then o[:workdir] = v
      when '--log' then o[:log] = v
      else abort "unknown option #{k}"
      end
    end
    %i[upstream_port cadir client_cert client_key].each do |req|
      abort "--#{req.to_s.tr('_', '-')} is required" unless o[req]
    end
    abort 'the upstream must be on 127.0.0.0/8' unless o[:upstream_host].start_with?('127.')
    o
  end
end

Hostile::Proxy.new(Hostile.parse_args(ARGV.dup)).run if $PROGRAM_NAME == __FILE__

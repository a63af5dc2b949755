#!/usr/bin/env ruby
# frozen_string_literal: true

# Validates every tasks/*.json against the Puppet task metadata spec
# (puppetlabs/puppet-specifications tasks/README.md):
#   - a task name matches \A[a-z][a-z0-9_]*\z and metadata is a JSON object
#     with only known keys; description is a non-empty String
#   - every parameter has a valid name, a description and a type that parses
#     as a Puppet type expression with no unresolved type references;
#     sensitive is a Boolean; a default is an instance of the type
#   - input_method (task and implementation level) is one of the valid ones;
#     supports_noop, private, remote are Booleans
#   - every implementation names a file in tasks/; requirements are known
#     features; every `files` entry is <module>/{files,lib,tasks}/... and
#     exists, or is a build product (git-ignored) under files/
#   - every executable in tasks/ belongs to a task with metadata
#   - Windows: a powershell implementation is a tasks/<task>.ps1 that ships
#     files/launch.ps1 and files/bin/, reads its parameters from stdin and
#     comes after the shell one; CA and primary tasks (ca_*, primary_*,
#     except the agent-side ca_bundle_update) have none and say "Linux only"
# Prints one line per problem and exits 1 if there is any.
#
#   ruby tests/lint/check_task_metadata.rb [module_root]
require 'json'
require 'open3'
require 'puppet'

ROOT = File.expand_path(ARGV[0] || File.join(__dir__, '..', '..'))
TASK_NAME = /\A[a-z][a-z0-9_]*\z/.freeze
TOP_KEYS = %w[description puppet_task_version supports_noop input_method parameters
              implementations files private remote extensions].freeze
PARAM_KEYS = %w[description type sensitive default].freeze
IMPL_KEYS = %w[name requirements input_method files].freeze
INPUT_METHODS = %w[stdin environment powershell both].freeze
FEATURES = %w[shell powershell puppet-agent].freeze
FILE_DIRS = %w[files lib tasks].freeze

# Collects TypeReference types (unknown names) anywhere inside a type.
class UnresolvedRefs
  attr_reader :names

  def initialize
    @names = []
  end

  def visit(type, _guard)
    @names << type.type_string if type.is_a?(Puppet::Pops::Types::PTypeReferenceType)
  end
end

def module_name
  meta = JSON.parse(File.read(File.join(ROOT, 'metadata.json')))
  meta.fetch('name').split(/[-\/]/, 2).last
rescue StandardError
  File.basename(ROOT)
end

def git_ignored?(rel)
  _out, status = Open3.capture2e('git', '-C', ROOT, 'check-ignore', '-q', rel)
  status.success?
rescue SystemCallError
  false
end

# An object whose keys are all in keys: false (after one error) when obj is
# not an object, so that the caller skips the checks of its members.
def check_object(errs, where, obj, keys)
  unless obj.is_a?(Hash)
    errs << "#{where}: must be an object"
    return false
  end
  (obj.keys - keys).each { |k| errs << "#{where}: unknown key #{k}" }
  true
end

def check_bool(errs, where, obj, key)
  return unless obj.key?(key)

  errs << "#{where}: #{key} must be true or false, not #{obj[key].inspect}" unless [true, false].include?(obj[key])
end

def check_type(errs, where, expr)
  unless expr.is_a?(String) && !expr.strip.empty?
    errs << "#{where}: type must be a non-empty String (a Puppet type expression)"
    return nil
  end
  type = Puppet::Pops::Types::TypeParser.singleton.parse(expr)
  refs = UnresolvedRefs.new
  type.accept(refs, nil)
  unless refs.names.empty?
    errs << "#{where}: type #{expr.inspect} names unknown type(s) #{refs.names.uniq.join(', ')}"
    return nil
  end
  type
rescue Puppet::Error, ArgumentError => e
  errs << "#{where}: type #{expr.inspect} is not a valid Puppet type: #{e.message.lines.first.strip}"
  nil
end

def check_params(errs, where, params)
  unless params.is_a?(Hash)
    errs << "#{where}: parameters must be an object"
    return
  end
  params.each do |name, spec|
    w = "#{where}: parameter #{name}"
    errs << "#{w}: name must match #{TASK_NAME.source}" unless name.match?(TASK_NAME)
    errs << "#{w}: name starting with '_' is reserved for metaparameters" if name.start_with?('_')
    next unless check_object(errs, w, spec, PARAM_KEYS)

    desc = spec['description']
    errs << "#{w}: description missing or empty" unless desc.is_a?(String) && !desc.strip.empty?
    errs << "#{w}: type missing" unless spec.key?('type')
    type = spec.key?('type') ? check_type(errs, w, spec['type']) : nil
    check_bool(errs, w, spec, 'sensitive')
    if type && spec.key?('default') && !type.instance?(spec['default'])
      errs << "#{w}: default #{spec['default'].inspect} is not a #{spec['type']}"
    end
  end
end

def check_files(errs, where, files, mod)
  unless files.is_a?(Array) && files.all? { |f| f.is_a?(String) }
    errs << "#{where}: files must be an array of strings"
    return
  end
  files.each do |f|
    owner, dir, rest = f.split('/', 3)
    unless owner == mod && FILE_DIRS.include?(dir) && !rest.to_s.empty? && !f.split('/').include?('..')
      errs << "#{where}: file #{f.inspect} must be #{mod}/{#{FILE_DIRS.join(',')}}/<path>"
      next
    end
    rel = File.join(dir, rest)
    path = File.join(ROOT, rel)
    present = f.end_with?('/') ? File.directory?(path) : File.file?(path)
    next if present
    next if dir == 'files' && git_ignored?(rel) # a build product, e.g. files/bin/ (keep the slash: git
                                                # matches a dir-only pattern on a missing path only so)

    errs << "#{where}: file #{f.inspect} does not exist (#{rel}) and is not a build product under files/"
  end
end

def check_impls(errs, where, impls, mod)
  unless impls.is_a?(Array) && !impls.empty?
    errs << "#{where}: implementations must be a non-empty array"
    return []
  end
  impls.each_with_index.map do |impl, i|
    w = "#{where}: implementations[#{i}]"
    next unless check_object(errs, w, impl, IMPL_KEYS)

    file = impl['name']
    if !file.is_a?(String) || file.include?('/') || !File.file?(File.join(ROOT, 'tasks', file))
      errs << "#{w}: name #{file.inspect} is not a file in tasks/"
    elsif !File.executable?(File.join(ROOT, 'tasks', file)) && !file.end_with?('.ps1', '.rb', '.py', '.pp')
      errs << "#{w}: tasks/#{file} is not executable"
    end
    reqs = impl.fetch('requirements', [])
    unless reqs.is_a?(Array) && (reqs - FEATURES).empty?
      errs << "#{w}: requirements must be a subset of #{FEATURES.inspect}"
    end
    if impl.key?('input_method') && !INPUT_METHODS.include?(impl['input_method'])
      errs << "#{w}: input_method must be one of #{INPUT_METHODS.join(', ')}"
    end
    check_files(errs, w, impl['files'], mod) if impl.key?('files')
    file
  end.compact
end

# Which platforms a task runs on, as its implementations and description say.
CA_SIDE = /\A(?:ca_(?!bundle_update\z)|primary_)/.freeze

def check_windows(errs, where, name, meta, mod)
  impls = meta['implementations']
  return unless impls.is_a?(Array) && impls.all? { |i| i.is_a?(Hash) }

  ps = impls.select { |i| Array(i['requirements']).include?('powershell') }
  if name.match?(CA_SIDE)
    errs << "#{where}: a CA/primary task must have no powershell implementation" unless ps.empty?
    errs << "#{where}: a CA/primary task's description must say it is Linux only" unless meta['description'].to_s.include?('Linux only')
    return
  end
  ps.each do |impl|
    w = "#{where}: #{impl['name']}"
    errs << "#{w}: must be tasks/#{name}.ps1" unless impl['name'] == "#{name}.ps1"
    files = Array(impl['files'])
    ["#{mod}/files/launch.ps1", "#{mod}/files/bin/"].each do |f|
      errs << "#{w}: files must include #{f}" unless files.include?(f)
    end
    errs << "#{w}: input_method must be stdin (launch.ps1 hands stdin to the executable)" unless impl['input_method'] == 'stdin'
    errs << "#{w}: must come after the shell implementation" if impls.index(impl).zero?
  end
end

def check_task(path, mod)
  errs = []
  where = File.join('tasks', File.basename(path))
  name = File.basename(path, '.json')
  errs << "#{where}: task name #{name.inspect} must match #{TASK_NAME.source}" unless name.match?(TASK_NAME)
  begin
    meta = JSON.parse(File.read(path))
  rescue JSON::ParserError => e
    return [["#{where}: not valid JSON: #{e.message.lines.first.strip}"], []]
  end
  return [["#{where}: must hold a JSON object"], []] unless meta.is_a?(Hash)

  (meta.keys - TOP_KEYS).each { |k| errs << "#{where}: unknown key #{k}" }
  desc = meta['description']
  errs << "#{where}: description missing or empty" unless desc.is_a?(String) && !desc.strip.empty?
  if meta.key?('input_method') && !INPUT_METHODS.include?(meta['input_method'])
    errs << "#{where}: input_method must be one of #{INPUT_METHODS.join(', ')}"
  end
  %w[supports_noop private remote].each { |k| check_bool(errs, where, meta, k) }
  if meta.key?('puppet_task_version') && meta['puppet_task_version'] != 1
    errs << "#{where}: puppet_task_version must be 1"
  end
  check_params(errs, where, meta.fetch('parameters', {}))
  check_files(errs, where, meta['files'], mod) if meta.key?('files')
  check_windows(errs, where, name, meta, mod)
  used = if meta.key?('implementations')
           check_impls(errs, where, meta['implementations'], mod)
         else
           execs = Dir[File.join(ROOT, 'tasks', "#{name}.*")].map { |f| File.basename(f) } - ["#{name}.json"]
           errs << "#{where}: no implementations and not exactly one tasks/#{name}.* executable (#{execs.inspect})" unless execs.size == 1
           execs
         end
  [errs, used]
end

mod = module_name
metas = Dir[File.join(ROOT, 'tasks', '*.json')].sort
errors = []
used = []
metas.each do |m|
  errs, files = check_task(m, mod)
  errors.concat(errs)
  used.concat(files)
  puts "ok: tasks/#{File.basename(m)}" if errs.empty?
end
(Dir[File.join(ROOT, 'tasks', '*')].map { |f| File.basename(f) } - metas.map { |m| File.basename(m) } - used).each do |f|
  errors << "tasks/#{f}: not the implementation of any task with metadata"
end
puts 'no tasks/*.json found' if metas.empty?
errors.each { |e| puts "ERROR #{e}" }
puts "#{metas.size} task(s), #{errors.size} problem(s)"
exit(errors.empty? ? 0 : 1)

# frozen_string_literal: true

# Plain RSpec for the module's hand-written Ruby (module/lib/puppet_x/autoami/ and the report
# processor), run apart from the rspec-puppet specs so that nothing here leans on their
# fixtures. Puppet is the real one, since this code only ever runs inside it; its settings
# point into a throwaway directory.
require 'fileutils'
require 'json'
require 'puppet'
require 'socket'
require 'tmpdir'

MODULE_LIB = File.expand_path('../../../module/lib', __dir__)
$LOAD_PATH.unshift(MODULE_LIB) unless $LOAD_PATH.include?(MODULE_LIB)

UNIT_ROOT = Dir.mktmpdir('autoami-unit-')
at_exit { FileUtils.rm_rf(UNIT_ROOT) }
# Loaded beside the rspec-puppet specs, Puppet's settings are already theirs.
unless Puppet.settings.global_defaults_initialized?
  Puppet.initialize_settings(['--confdir', File.join(UNIT_ROOT, 'conf'), '--vardir', File.join(UNIT_ROOT, 'var')])
end

RSpec.configure do |c|
  c.mock_with :rspec
  # Each example gets its own directory, and AUTOAMI_CONFIG as it found it.
  c.around do |example|
    saved = ENV.fetch('AUTOAMI_CONFIG', nil)
    Dir.mktmpdir('example-', UNIT_ROOT) do |dir|
      @dir = dir
      example.run
    end
  ensure
    saved.nil? ? ENV.delete('AUTOAMI_CONFIG') : ENV['AUTOAMI_CONFIG'] = saved
  end
end

# autoami.yaml in the example's directory, and AUTOAMI_CONFIG naming it.
def write_config(data)
  path = File.join(@dir, 'autoami.yaml')
  File.write(path, data.is_a?(String) ? data : data.to_yaml)
  ENV['AUTOAMI_CONFIG'] = path
end

# A JSON-RPC reply to `request`.
def reply(request, result)
  { 'jsonrpc' => '2.0', 'id' => request['id'], 'result' => result }
end

# The sidecar's end of the socket, played by a lambda: it gets each request (parsed) and
# returns what to send back: a Hash (sent as one JSON line), a String (sent as is), nil
# (nothing), :close (hang up) or an Array of those, in order. `hello` is answered unless
# the block answers it itself.
class FakeSidecar
  attr_reader :path, :requests

  def initialize(dir, answer = nil)
    @path = File.join(dir, 'autoami.sock')
    @server = UNIXServer.new(@path)
    @answer = answer || ->(_request) {}
    @requests = Queue.new
    @connections = []
    @thread = Thread.new { serve }
  end

  def stop
    @server.close
    @connections.each { |connection| connection.close unless connection.closed? }
    @thread.join(5)
  end

  # Every request received so far, in order.
  def received
    list = []
    list << @requests.pop until @requests.empty?
    list
  end

  private

  def serve
    loop do
      connection = @server.accept
      @connections << connection
      converse(connection)
    end
  rescue IOError, SystemCallError
    nil
  end

  def converse(connection)
    while (line = connection.gets)
      request = JSON.parse(line)
      @requests << request
      answers = @answer.call(request)
      answers = reply(request, 'protocol' => PuppetX::Autoami::PROTOCOL) if answers.nil? && request['method'] == 'hello'
      return connection.close if answer_with(connection, answers) == :closed
    end
    connection.close
  rescue IOError, SystemCallError
    nil
  end

  def answer_with(connection, answers)
    (answers.is_a?(Array) ? answers : [answers]).each do |answer|
      case answer
      when nil then next
      when :close then return :closed
      when String then connection.write(answer)
      else connection.write("#{JSON.generate(answer)}\n")
      end
      connection.flush
    end
    nil
  end
end

# Yields a FakeSidecar answering with `answer`, autoami.yaml naming its socket.
def with_sidecar(answer = nil, config: {})
  sidecar = FakeSidecar.new(@dir, answer)
  write_config({ 'socket' => sidecar.path }.merge(config))
  yield sidecar
ensure
  sidecar&.stop
end

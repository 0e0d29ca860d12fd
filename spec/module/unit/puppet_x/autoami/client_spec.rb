# frozen_string_literal: true

require_relative '../../spec_helper'
require 'puppet_x/autoami/client'

describe PuppetX::Autoami::Client do
  def connect(sidecar, timeout: 5)
    described_class.new(sidecar.path, config_path: '/etc/puppet/autoami.yaml', timeout: timeout)
  end

  it 'says hello with its protocol, Puppet version and login before anything else' do
    with_sidecar do |sidecar|
      connect(sidecar).close
      hello = sidecar.received.first
      expect(hello).to include('jsonrpc' => '2.0', 'method' => 'hello')
      login = Etc.getpwuid(Process.euid).name
      expect(hello['params']).to eq('protocol' => PuppetX::Autoami::PROTOCOL, 'client' => "puppet #{Puppet.version}", 'user' => login)
    end
  end

  it 'returns each call’s result, numbering the calls' do
    with_sidecar(->(request) { reply(request, 'echo' => request['params']) if request['method'] == 'group.list' }) do |sidecar|
      client = connect(sidecar)
      expect(client.call('group.list', { 'name' => 'web' })).to eq('echo' => { 'name' => 'web' })
      expect(client.call('group.list')).to eq('echo' => {})
      client.close
      expect(sidecar.received.map { |request| request['id'] }).to eq([1, 2, 3])
    end
  end

  it 'yields progress as it comes and skips replies meant for other calls' do
    answer = lambda do |request|
      next unless request['method'] == 'bake.run'

      [
        { 'jsonrpc' => '2.0', 'method' => 'progress', 'params' => { 'line' => 'launching' } },
        { 'jsonrpc' => '2.0', 'id' => 99, 'result' => 'stray' },
        { 'jsonrpc' => '2.0', 'method' => 'progress', 'params' => { 'line' => 'baking' } },
        reply(request, 'ok' => true),
      ]
    end
    with_sidecar(answer) do |sidecar|
      client = connect(sidecar)
      lines = []
      expect(client.call('bake.run') { |progress| lines << progress['line'] }).to eq('ok' => true)
      expect(lines).to eq(%w[launching baking])
      client.close
    end
  end

  it 'raises the sidecar’s error with its code and field' do
    error = { 'code' => -32_602, 'message' => 'image: not an AMI id', 'data' => { 'field' => 'image' } }
    with_sidecar(->(request) { { 'jsonrpc' => '2.0', 'id' => request['id'], 'error' => error } unless request['method'] == 'hello' }) do |sidecar|
      client = connect(sidecar)
      expect { client.call('group.create', { 'image' => 'x' }) }.to raise_error(PuppetX::Autoami::Error) { |e|
        expect([e.message, e.code, e.field]).to eq(['image: not an AMI id', -32_602, 'image'])
      }
      client.close
    end
  end

  it 'tells the operator how to start a sidecar it cannot reach' do
    path = File.join(@dir, 'nobody.sock')
    expect { described_class.new(path, config_path: '/etc/puppet/autoami.yaml') }.to raise_error(
      PuppetX::Autoami::Error,
      %r{cannot reach the autoami sidecar at #{Regexp.escape(path)} \(ENOENT\): .*autoami serve --config /etc/puppet/autoami\.yaml},
    )
  end

  it 'refuses a reply that is not JSON' do
    with_sidecar(->(request) { "<html>\n" unless request['method'] == 'hello' }) do |sidecar|
      client = connect(sidecar)
      expect { client.call('status') }.to raise_error(PuppetX::Autoami::Error, /sent a reply that is not JSON/)
      client.close
    end
  end

  it 'gives up on a silent sidecar after its timeout' do
    with_sidecar(->(request) { [] unless request['method'] == 'hello' }) do |sidecar|
      client = connect(sidecar, timeout: 0.2)
      started = Process.clock_gettime(Process::CLOCK_MONOTONIC)
      expect { client.call('status') }.to raise_error(PuppetX::Autoami::Error, /did not answer within 0.2 s/)
      expect(Process.clock_gettime(Process::CLOCK_MONOTONIC) - started).to be < 3
      client.close
    end
  end

  it 'says so when the sidecar hangs up' do
    with_sidecar(->(request) { :close unless request['method'] == 'hello' }) do |sidecar|
      client = connect(sidecar)
      expect { client.call('status') }.to raise_error(PuppetX::Autoami::Error, /closed the connection/)
      client.close
    end
  end

  it 'puts a reply together from pieces and reads it as UTF-8' do
    answer = lambda do |request|
      next if request['method'] == 'hello'

      line = "#{JSON.generate(reply(request, 'name' => 'café'))}\n".b
      # The split falls inside the é, so neither piece is valid UTF-8 alone.
      cut = line.index("\xC3".b) + 1
      [line[0, cut], line[cut..]]
    end
    with_sidecar(answer) do |sidecar|
      client = connect(sidecar)
      name = client.call('group.show')['name']
      expect([name, name.encoding]).to eq(['café', Encoding::UTF_8])
      client.close
    end
  end

  describe '.open' do
    it 'connects to the socket autoami.yaml names and closes after the block' do
      with_sidecar(->(request) { reply(request, 'groups' => []) if request['method'] == 'group.list' }) do |sidecar|
        result = described_class.open { |client| client.call('group.list') }
        expect(result).to eq('groups' => [])
        expect(sidecar.received.map { |request| request['method'] }).to eq(%w[hello group.list])
      end
    end
  end
end

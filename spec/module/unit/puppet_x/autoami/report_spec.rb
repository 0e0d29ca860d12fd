# frozen_string_literal: true

require_relative '../../spec_helper'
require 'puppet_x/autoami/report'

describe PuppetX::Autoami::Report do
  certname = 'web-i-0123456789abcdef0.autoami'

  # A finished `puppet apply` report as Puppet builds it: one resource changed, one changed
  # back to what the catalog said (drift), one failed.
  def puppet_report(host)
    report = Puppet::Transaction::Report.new('1700000000', 'production', 'b0a1f6e2-0000-4000-8000-000000000001')
    report.host = host
    changed = Puppet::Resource::Status.new(Puppet::Type.type(:notify).new(name: 'motd'))
    changed.changed = true
    drift = Puppet::Resource::Status.new(Puppet::Type.type(:notify).new(name: 'drift'))
    drift.changed = true
    drift.corrective_change = true
    failed = Puppet::Resource::Status.new(Puppet::Type.type(:notify).new(name: 'broken'))
    failed.failed = true
    [changed, drift, failed].each { |status| report.add_resource_status(status) }
    report.finalize_report
    report
  end

  def spooled(dir)
    Dir[File.join(dir, 'spool', '*')].sort
  end

  it 'tracks bake instances by certname alone' do
    expect(described_class.tracked?(certname)).to be(true)
    expect(described_class.tracked?('puppet.example.com')).to be(false)
    expect(described_class.tracked?(nil)).to be(false)
  end

  describe '.summary' do
    it 'takes what the sidecar judges a bake by from a Puppet report' do
      summary = described_class.summary(puppet_report(certname))
      expect(summary).to include(
        'host' => certname,
        'transaction_uuid' => 'b0a1f6e2-0000-4000-8000-000000000001',
        'configuration_version' => '1700000000',
        'status' => 'failed',
        'environment' => 'production',
        'changed_resources' => ['Notify[motd]', 'Notify[drift]'],
        'failed_resources' => ['Notify[broken]'],
        'corrective_resources' => ['Notify[drift]'],
        'changed' => 2,
        'failed' => 1,
        'failed_to_restart' => 0,
        'corrective_change' => 1,
        'noop' => false,
        'pending_resources' => [],
      )
      expect(summary['time']).to match(%r{\A\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z\z})
      expect(JSON.parse(JSON.generate(summary))).to eq(summary)
    end

    it 'names what a noop run would still change, as a verification of a new image needs' do
      # A report takes its noop from the run's settings, as `puppet agent --noop` sets them.
      Puppet[:noop] = true
      report = Puppet::Transaction::Report.new('1700000000', 'production', 'b0a1f6e2-0000-4000-8000-000000000002')
      report.host = certname
      pending = Puppet::Resource::Status.new(Puppet::Type.type(:notify).new(name: 'every run'))
      pending.add_event(Puppet::Transaction::Event.new(name: :message_changed, property: 'message', status: 'noop'))
      settled = Puppet::Resource::Status.new(Puppet::Type.type(:notify).new(name: 'settled'))
      [pending, settled].each { |status| report.add_resource_status(status) }
      report.finalize_report
      summary = described_class.summary(report)
      expect(summary).to include('noop' => true, 'pending_resources' => ['Notify[every run]'], 'changed_resources' => [], 'changed' => 0)
    end

    it 'leaves out what a report lacks and counts zero without metrics' do
      bare = Struct.new(:host, :transaction_uuid, :configuration_version, :status, :environment, :time, :metrics, :resource_statuses)
      summary = described_class.summary(bare.new(certname, 'u', nil, 'unchanged', nil, nil, nil, nil))
      expect(summary).to eq(
        'host' => certname, 'transaction_uuid' => 'u', 'status' => 'unchanged', 'changed_resources' => [], 'failed_resources' => [],
        'corrective_resources' => [], 'changed' => 0, 'failed' => 0, 'failed_to_restart' => 0, 'corrective_change' => 0,
        'noop' => false, 'pending_resources' => [],
      )
    end

    it 'keeps the first 500 titles of each kind' do
      status = Struct.new(:resource, :changed, :failed, :corrective_change, :events)
      statuses = (1..600).to_h { |n| ["File[/#{n}]", status.new("File[/#{n}]", true, false, n.odd?, [])] }
      bare = Struct.new(:host, :transaction_uuid, :configuration_version, :status, :environment, :time, :metrics, :resource_statuses)
      summary = described_class.summary(bare.new(certname, 'u', nil, 'changed', nil, nil, nil, statuses))
      expect(summary['changed_resources'].length).to eq(500)
      expect(summary['changed_resources'].first).to eq('File[/1]')
      expect(summary['corrective_resources'].length).to eq(300)
      expect(summary['corrective_resources'].last).to eq('File[/599]')
    end
  end

  describe '.facts' do
    # As on a master: the facts the agent sent are saved through the facts indirection
    # (Puppet Server's json terminus) before its catalog is compiled.
    around do |example|
      saved = Puppet[:facts_terminus]
      Puppet[:facts_terminus] = 'json'
      # The json terminus keeps a master's under server_datadir, anyone else's under client_datadir.
      Puppet[:client_datadir] = Puppet[:server_datadir] = File.join(@dir, 'data')
      example.run
    ensure
      Puppet[:facts_terminus] = saved
    end

    def cache_facts(host, values)
      Puppet::Node::Facts.indirection.save(Puppet::Node::Facts.new(host, values))
    end

    it "reads the node's cached facts, leaving out the user-data, credentials and the master's bookkeeping" do
      cache_facts(certname, 'os' => { 'family' => 'Debian' }, 'ec2_userdata' => "challenge: s3cret\n", '_timestamp' => '2030-01-01',
                            'ec2_metadata' => { 'instance-id' => 'i-0123', 'iam' => { 'info' => 'arn', 'security-credentials' => { 'role' => 'key' } } })
      facts = described_class.facts(certname)
      expect(facts).to eq('os' => { 'family' => 'Debian' }, 'ec2_metadata' => { 'instance-id' => 'i-0123', 'iam' => { 'info' => 'arn' } })
      expect(Puppet::Node::Facts.indirection.find(certname).values['ec2_userdata']).to eq("challenge: s3cret\n")
    end

    it 'gives none, with a warning, for facts too long for one message' do
      cache_facts(certname, 'blob' => 'x' * PuppetX::Autoami::FACTS_MAX)
      expect(Puppet).to receive(:warning).with(/facts of #{Regexp.escape(certname)} are \d+ characters, over #{PuppetX::Autoami::FACTS_MAX}/)
      expect(described_class.facts(certname)).to be_nil
    end

    it 'gives none for a node the master has no facts of' do
      expect(described_class.facts('gone-i-0123456789abcdef0.autoami')).to be_nil
    end

    it 'adds them to the summary only on a master' do
      cache_facts(certname, 'os' => { 'family' => 'Debian' })
      summary = { 'host' => certname }
      expect(described_class.with_facts(summary)).to eq(summary)
      allow(Puppet.run_mode).to receive(:server?).and_return(true)
      expect(described_class.with_facts(summary)).to eq('host' => certname, 'facts' => { 'os' => { 'family' => 'Debian' } })
    end
  end

  describe '.deliver' do
    summary = { 'host' => 'web-i-0123abcd.autoami', 'status' => 'changed' }

    it 'submits the summary to the sidecar and spools nothing' do
      with_sidecar(->(request) { reply(request, 'accepted' => true) if request['method'] == 'report.submit' }, config: { 'state_dir' => @dir }) do |sidecar|
        described_class.deliver(summary)
        expect(sidecar.received.map { |request| [request['method'], request['params']] }.last).to eq(['report.submit', summary])
      end
      expect(spooled(@dir)).to be_empty
    end

    it 'spools the summary, whole and readable by the sidecar’s group only, while the sidecar is down' do
      write_config('socket' => File.join(@dir, 'nobody.sock'), 'state_dir' => @dir)
      expect(Puppet).to receive(:warning).with(%r{sidecar unreachable .*report for web-i-0123abcd\.autoami spooled to #{Regexp.escape(@dir)}/spool/})
      described_class.deliver(summary)
      files = spooled(@dir)
      expect(files.length).to eq(1)
      expect(File.basename(files.first)).to match(/\A\d{8}T\d{12}-[0-9a-f]{8}\.json\z/)
      expect(JSON.parse(File.read(files.first))).to eq(summary)
      expect(File.stat(files.first).mode & 0o777).to eq(0o640)
      expect(Dir.children(File.join(@dir, 'spool'))).to eq([File.basename(files.first)])
    end

    it 'spools rather than keep the master waiting on a sidecar that does not answer' do
      stub_const('PuppetX::Autoami::SUBMIT_TIMEOUT', 0.2)
      allow(Puppet).to receive(:warning)
      with_sidecar(->(request) { [] if request['method'] == 'report.submit' }, config: { 'state_dir' => @dir }) do
        described_class.deliver(summary)
      end
      expect(Puppet).to have_received(:warning).with(/did not answer within 0.2 s/)
      expect(spooled(@dir).length).to eq(1)
    end

    it 'spools when the sidecar refuses the report' do
      allow(Puppet).to receive(:warning)
      error = { 'code' => -32_000, 'message' => 'store unavailable' }
      with_sidecar(->(request) { { 'jsonrpc' => '2.0', 'id' => request['id'], 'error' => error } if request['method'] == 'report.submit' }, config: { 'state_dir' => @dir }) do
        described_class.deliver(summary)
      end
      expect(spooled(@dir).length).to eq(1)
    end
  end
end
